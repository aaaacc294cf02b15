<?php
// The fault suite's page (tests/src/bin/soak.rs): one request = one increment of the session's
// counter. Answers "ok N" only when both the read and the write succeeded, so the load generator
// counts as acknowledged exactly the increments that must be in Redis afterwards.
//
// A failed write does not show in session_write_close()'s result: PHP 8.2 returns true once the
// session was active, and reports the handler's failure only as a warning ("Failed to write
// session data"). So every warning raised while the session is open or being written counts as
// a failure, and its text is answered for the suite's failure reasons.
declare(strict_types=1);
$warnings = [];
set_error_handler(static function (int $no, string $message) use (&$warnings): bool {
    $warnings[] = $message;
    return true;
});
$fail = static function (string $what) use (&$warnings): void {
    http_response_code(503);
    echo "fail $what: ", str_replace("\n", ' ', $warnings[0] ?? 'no warning'), "\n";
};
if (!session_start()) {
    $fail('start');
    return;
}
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
$n = $_SESSION['n'];
if (!session_write_close() || $warnings) {
    $fail('write');
    return;
}
echo "ok $n\n";
