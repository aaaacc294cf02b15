<?php
// The per-user index's web app (tests/tests/fleet/user_index.rs), served by php-fpm behind nginx
// with phpsess and phpsess.user_key=user_id (or phpsess.user_index=1 for the explicit calls).
//   ?do=login    (POST user=NAME) session_regenerate_id(true), $_SESSION['user_id'] = NAME
//   ?do=whoami   reads only
//   ?do=sessions phpsess_user_sessions(<this user>)
//   ?do=others   phpsess_destroy_user_sessions(<this user>): log out everywhere else
//   ?do=slow     holds the session ms=N milliseconds, then counts n + 1
//   ?do=logout   unset($_SESSION['user_id']) (the session stays)
//   ?do=bind     (POST user=NAME) phpsess_set_user(NAME), no user_key entry
//   ?do=regen    session_regenerate_id(true) only
//   ?do=kill     (POST id=ID) phpsess_destroy_session(ID)
//   ?do=destroy  session_destroy()
// Answers one JSON object: ok, id, session, result, errors.

declare(strict_types=1);
require __DIR__ . '/fleet_lib.php';
fleet_capture_errors();

$ok = session_start();
$out = ['ok' => $ok, 'result' => null];
if ($ok) {
    $user = $_SESSION['user_id'] ?? null;
    switch ($_GET['do'] ?? 'whoami') {
        case 'login':
            session_regenerate_id(true);
            $_SESSION['user_id'] = (string) ($_POST['user'] ?? '');
            break;
        case 'whoami':
            break;
        case 'sessions':
            $out['result'] = phpsess_user_sessions($user ?? (string) ($_GET['user'] ?? ''));
            break;
        case 'others':
            $out['result'] = phpsess_destroy_user_sessions($user ?? (string) ($_GET['user'] ?? ''));
            break;
        case 'slow':
            usleep(1000 * (int) ($_GET['ms'] ?? 0));
            $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
            break;
        case 'logout':
            unset($_SESSION['user_id']);
            break;
        case 'bind':
            phpsess_set_user((string) ($_POST['user'] ?? ''));
            $_SESSION['bound'] = true;
            break;
        case 'regen':
            session_regenerate_id(true);
            break;
        case 'kill':
            $out['result'] = phpsess_destroy_session((string) ($_POST['id'] ?? ''));
            break;
        case 'destroy':
            $out['result'] = session_destroy();
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
header('Content-Type: application/json');
fleet_json($out);
