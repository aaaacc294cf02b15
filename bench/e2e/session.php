<?php
// The end-to-end benchmark's request (scripts/bench-e2e.sh), served by php-fpm behind nginx:
// start the session, keep a 1 KiB payload in it, count, write. Answers "ok <n>" or HTTP 500.

if (!session_start()) {
    http_response_code(500);
    echo "session_start() failed: ", error_get_last()['message'] ?? '';
    exit;
}
$_SESSION['user_id'] ??= 42; // phpsess.user_key in the "+ user_key" rows
$_SESSION['payload'] ??= str_repeat('0123456789abcdef', 64);
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
$n = $_SESSION['n'];
session_write_close();
echo "ok $n";
