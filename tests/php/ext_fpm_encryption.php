<?php
// One request under php-fpm with encryption at rest set per pool (tests/tests/ext/fpm.rs): the
// session id comes from the Cookie header; ?set=VALUE stores $_SESSION['marker'] = VALUE, and
// ?try_ini=1 reports whether a script can turn encryption off (it must not).
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

$changed = isset($_GET['try_ini']) ? ini_set('phpsess.encryption', 'off') : null;
$ok = session_start();
$before = $_SESSION ?? null;
if (isset($_GET['set'])) {
    $_SESSION['marker'] = $_GET['set'];
}
session_write_close();
report(['ok' => $ok, 'id' => session_id(), 'session' => $before, 'ini_set' => $changed, 'mode' => ini_get('phpsess.encryption')]);
