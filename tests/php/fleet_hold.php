<?php
// A php-fpm page that holds a session until told to let go (tests/tests/fleet/lock_queue.rs, the
// worker-crash test). GET ?id=ID&tag=TAG&dir=DIR: session_start() (waiting while another request
// holds the lock), then writes getmypid() to DIR/TAG.started, waits for DIR/TAG.release (30 s at
// most), counts in the session (n += 1, log[] = TAG) and closes it.
// Prints {"ok": session_start()'s result, "tag", "pid", "seen": the session as read, "start_ms", "written", "errors"}.

declare(strict_types=1);
ob_start();
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

$id = (string) ($_GET['id'] ?? '');
$tag = (string) ($_GET['tag'] ?? '');
$dir = (string) ($_GET['dir'] ?? '');
assert($id !== '' && preg_match('/^[A-Za-z0-9_]+$/', $tag) === 1 && is_dir($dir), 'id, tag, dir');
session_id($id);
$t0 = hrtime(true);
$started = session_start();
$startMs = fleet_ms($t0);
$seen = $started ? $_SESSION : null;
// The pid first, then the name: the test reads the file as soon as it exists.
file_put_contents("$dir/$tag.tmp", (string) getmypid());
rename("$dir/$tag.tmp", "$dir/$tag.started");

$deadline = microtime(true) + 30;
while (!file_exists("$dir/$tag.release") && microtime(true) < $deadline) {
    usleep(2000);
}
$written = false;
if ($started) {
    $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
    $_SESSION['log'][] = $tag;
    $written = session_write_close();
}
ob_end_clean();
fleet_json(['ok' => $started, 'tag' => $tag, 'pid' => getmypid(), 'seen' => $seen, 'start_ms' => $startMs,
    'written' => $written, 'errors' => fleet_errors()]);
