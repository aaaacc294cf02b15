<?php
// Prints one session as JSON without changing it (tests/tests/fleet/*.rs).
// usage: php fleet_show.php ID
// Prints {"ok": session_start() result, "id", "session", "errors"}; read-only (session_abort()).

declare(strict_types=1);
ob_start();
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

session_id($argv[1]);
$ok = session_start(['read_and_close' => true]);
ob_end_clean();
fleet_json(['ok' => $ok, 'id' => session_id(), 'session' => $_SESSION ?? null, 'errors' => fleet_errors()]);
