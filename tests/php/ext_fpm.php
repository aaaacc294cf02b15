<?php
// One request under php-fpm (tests/tests/ext/fpm.rs): open the session ?id=..., count the
// requests in it, and report this worker's pid and the phpsess counters phpinfo shows.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

session_id($_GET['id']);
assert(session_start() === true, implode("\n", Seen::$messages));
$_SESSION['count'] = ($_SESSION['count'] ?? 0) + 1;
$count = $_SESSION['count'];
assert(session_write_close() === true);
report(['pid' => getmypid(), 'count' => $count, 'info' => phpsess_info()]);
