<?php
// One step of a session-semantics scenario (tests/tests/fleet/semantics.rs).
// usage: php fleet_semantics.php ACTION ID [KEY=VALUE ...]
//   start      session_start() with ID (strict mode decides whether it is kept), close
//   set        start, set each KEY=VALUE, close
//   regenerate start, set each KEY=VALUE, session_regenerate_id(true), set "after" = 1, close
//   destroy    start, session_destroy()
//   gc         start, session_gc(), close
// Prints {"ok", "id" (the id in use at the end), "old", "session", "gc", "errors"}.

declare(strict_types=1);
ob_start();
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

[, $action, $id] = $argv;
$pairs = [];
foreach (array_slice($argv, 3) as $kv) {
    [$k, $v] = explode('=', $kv, 2);
    $pairs[$k] = $v;
}
session_id($id);
$ok = session_start();
$out = ['ok' => $ok, 'old' => $id, 'gc' => null];
if ($ok) {
    switch ($action) {
        case 'start':
            break;
        case 'set':
            foreach ($pairs as $k => $v) {
                $_SESSION[$k] = $v;
            }
            break;
        case 'regenerate':
            foreach ($pairs as $k => $v) {
                $_SESSION[$k] = $v;
            }
            $out['regenerated'] = session_regenerate_id(true);
            $_SESSION['after'] = '1';
            break;
        case 'destroy':
            $out['destroyed'] = session_destroy();
            break;
        case 'gc':
            $out['gc'] = session_gc();
            break;
        default:
            assert(false, "unknown action $action");
    }
}
$out['id'] = session_id();
$out['session'] = $_SESSION ?? null;
if (session_status() === PHP_SESSION_ACTIVE) {
    session_write_close();
}
$out['errors'] = fleet_errors();
ob_end_clean();
fleet_json($out);
