<?php
// The shared-session benchmark's request (issue 13, tests/src/web/bench_shared.rs): many
// connections carry one session cookie, as the parallel AJAX calls of one page do. Start the
// session (waiting for its lock), count, hold the session 2 ms as a request doing some work
// would, write. Answers "ok <n>" or HTTP 500. `?peek=1` answers "ok <n> <µs held in all>"
// without counting: the benchmark's check for lost increments and its measure of the hold time.

if (isset($_GET['peek'])) {
    session_start(['read_and_close' => true]);
    echo "ok ", $_SESSION['n'] ?? 0, " ", $_SESSION['hold_us'] ?? 0;
    exit;
}
if (!session_start()) {
    http_response_code(500);
    echo "session_start() failed: ", error_get_last()['message'] ?? '';
    exit;
}
$locked = hrtime(true);
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
$n = $_SESSION['n'];
usleep(2000);
$_SESSION['hold_us'] = ($_SESSION['hold_us'] ?? 0) + intdiv(hrtime(true) - $locked, 1000);
session_write_close();
echo "ok $n";
