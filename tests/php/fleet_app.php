<?php
// The fleet tests' web app (tests/tests/fleet/web.rs, faults.rs), served by php-fpm pools
// behind nginx.
//   ?do=login   (POST user=NAME) new id (session_regenerate_id), user = NAME, n = 0
//   ?do=count   n + 1 (after work_ms milliseconds of "work" between read and write)
//   ?do=whoami  reads only
//   ?do=logout  session_destroy()
//   ini[NAME]=VALUE  ini_set() before session_start() (settings the pool left as php_value)
// Answers one JSON object: pool, pid, ok (session_start's result), id, session, errors, start_ms.

declare(strict_types=1);
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

foreach ($_GET['ini'] ?? [] as $name => $value) {
    if (ini_set((string) $name, (string) $value) === false) {
        $GLOBALS['fleet_errors'][] = "fleet_app: ini_set($name) refused";
    }
}
$t0 = hrtime(true);
$ok = session_start();
$startMs = fleet_ms($t0);
$out = ['pool' => getenv('FLEET_POOL'), 'pid' => getmypid(), 'ok' => $ok];
if ($ok) {
    switch ($_GET['do'] ?? 'whoami') {
        case 'login':
            session_regenerate_id(true);
            $_SESSION['user'] = (string) ($_POST['user'] ?? '');
            $_SESSION['n'] = 0;
            break;
        case 'count':
            $n = $_SESSION['n'] ?? 0;
            usleep(1000 * (int) ($_GET['work_ms'] ?? 0));
            $_SESSION['n'] = $n + 1;
            break;
        case 'whoami':
            break;
        case 'logout':
            $_SESSION = [];
            session_destroy();
            break;
        default:
            http_response_code(400);
    }
}
$out['id'] = session_id();
$out['session'] = $_SESSION ?? null;
if (session_status() === PHP_SESSION_ACTIVE) {
    session_write_close();
}
$out['errors'] = fleet_errors();
$out['start_ms'] = $startMs;
header('Content-Type: application/json');
fleet_json($out);
