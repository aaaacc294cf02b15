<?php
// Session size limit (phpsess.max_session_bytes): tests/tests/ext/size_cap.rs stores a value over
// the limit (a decompression bomb or a large plain value) and runs this script with a small
// memory_limit. Mode `read ID`: start the session and report whether it opened, what it held and
// the process's peak resident memory, which must stay far below what the bomb expands to.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

/** Peak resident set size of this process in KiB (VmHWM), from /proc. */
function peak_rss_kib(): int
{
    $status = file_get_contents('/proc/self/status');
    assert(preg_match('/^VmHWM:\s+(\d+) kB$/m', $status, $m) === 1, 'VmHWM in /proc/self/status');
    return (int) $m[1];
}

$args = args();
$mode = array_shift($args);

switch ($mode) {
    case 'read':
        session_id($args[0]);
        $ok = session_start();
        $data = $_SESSION ?? null;
        // A failed start leaves no session to write; a started one is closed without a change.
        $closed = $ok ? session_write_close() : null;
        report(['ok' => $ok, 'session' => $data, 'closed' => $closed, 'peak_rss_kib' => peak_rss_kib()]);
        break;

    default:
        throw new Error("unknown mode $mode");
}
