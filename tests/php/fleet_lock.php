<?php
// Lock hand-over between two requests on one session (tests/tests/fleet/locks.rs).
// usage: php fleet_lock.php ID TAG DIR [report]
// Starts the session (session_start() waits while another request holds the lock), creates
// DIR/TAG.started, waits for DIR/TAG.release, then records TAG in the session and closes it.
// Prints {"tag", "seen": the session as read, "start_ms": how long session_start() took}.
// With "report", failures are reported instead of asserted: "started", "written", "errors".

declare(strict_types=1);
ob_start();
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

[, $id, $tag, $dir] = $argv;
$report = ($argv[4] ?? '') === 'report';
session_id($id);
$t0 = hrtime(true);
$started = session_start();
$startMs = fleet_ms($t0);
assert($report || $started === true, "$tag: session_start() failed: " . implode(' | ', fleet_errors()));
$seen = $_SESSION;
touch("$dir/$tag.started");

$deadline = microtime(true) + 30;
while (!file_exists("$dir/$tag.release")) {
    assert(microtime(true) < $deadline, "$tag: $dir/$tag.release did not appear within 30 s");
    usleep(2000);
}
$_SESSION['log'][] = $tag;
$_SESSION[$tag] = true;
$written = session_write_close();
if ($report) {
    ob_end_clean();
    fleet_json(['tag' => $tag, 'seen' => $seen, 'start_ms' => $startMs, 'started' => $started,
        'written' => $written, 'errors' => fleet_errors()]);
    exit(0);
}
assert($written === true, "$tag: session_write_close() failed: " . implode(' | ', fleet_errors()));
assert(fleet_errors() === [], "$tag: unexpected warnings: " . implode(' | ', fleet_errors()));
ob_end_clean();
fleet_json(['tag' => $tag, 'seen' => $seen, 'start_ms' => $startMs]);
