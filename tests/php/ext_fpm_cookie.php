<?php
// One request under php-fpm whose session id comes from the Cookie header, as a browser (or an
// attacker) sends it, with session.use_strict_mode = ?strict (tests/tests/ext/fpm.rs).
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

ini_set('session.use_strict_mode', $_GET['strict'] ?? '1');
$ok = session_start();
$data = $_SESSION ?? null;
report(['ok' => $ok, 'id' => session_id(), 'session' => $data]);
