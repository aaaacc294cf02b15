<?php
// The fault suite's page (tests/src/bin/soak.rs): one request = one increment of the session's
// counter. Answers "ok N" only when both the read and the write succeeded, so the load generator
// counts as acknowledged exactly the increments that must be in Redis afterwards.
declare(strict_types=1);
set_error_handler(static fn() => true);
if (!@session_start()) {
    http_response_code(503);
    echo "fail start\n";
    return;
}
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
$n = $_SESSION['n'];
if (!@session_write_close()) {
    http_response_code(503);
    echo "fail write\n";
    return;
}
echo "ok $n\n";
