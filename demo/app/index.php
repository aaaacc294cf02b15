<?php
// The phpsess demo app: log in, count, log out — served by two php-fpm pools ("web1", "web2")
// behind nginx, sharing the session through Redis. Every request says which server answered.
// POST action=login (user=NAME) | action=count | action=logout | action=logout_others (log out every
// other device of this user, through phpsess's per-user index), then a redirect back to the page
// (or, with ?format=json, the state as JSON, which scripts/demo.sh uses for its walk-through).

declare(strict_types=1);

$server = getenv('DEMO_SERVER') ?: '?';
$json = ($_GET['format'] ?? '') === 'json';
$started = session_start();
$message = null;
$ended = null;

if ($started && $_SERVER['REQUEST_METHOD'] === 'POST') {
    switch ($_POST['action'] ?? '') {
        case 'login':
            $user = trim((string) ($_POST['user'] ?? ''));
            if ($user === '' || strlen($user) > 40) {
                $message = 'Pick a name of 1 to 40 bytes.';
                break;
            }
            // A new id at login, so an id planted before it is worth nothing afterwards.
            session_regenerate_id(true);
            $_SESSION = ['user' => $user, 'count' => 0, 'logged_in_on' => $server, 'seen_by' => []];
            break;
        case 'count':
            if (isset($_SESSION['user'])) {
                $_SESSION['count']++;
            }
            break;
        case 'logout_others':
            if (isset($_SESSION['user'])) {
                $ended = phpsess_destroy_user_sessions($_SESSION['user']);
                $message = "Logged out $ended other device(s).";
            }
            break;
        case 'logout':
            $_SESSION = [];
            session_destroy();
            $params = session_get_cookie_params();
            unset($params['lifetime']);
            setcookie(session_name(), '', ['expires' => 1] + $params);
            break;
    }
    if (!$json && $message === null && $ended === null) {
        header('Location: /', true, 303);
        exit;
    }
}

if ($started && isset($_SESSION['user'])) {
    $_SESSION['seen_by'][$server] = ($_SESSION['seen_by'][$server] ?? 0) + 1;
}
$state = [
    'server' => $server,
    'session_started' => $started,
    'user' => $_SESSION['user'] ?? null,
    'count' => $_SESSION['count'] ?? null,
    'logged_in_on' => $_SESSION['logged_in_on'] ?? null,
    'seen_by' => $_SESSION['seen_by'] ?? [],
    'session_id' => session_status() === PHP_SESSION_ACTIVE ? session_id() : null,
    'message' => $message,
    'ended' => $ended,
];
session_write_close();
// This user's sessions, from the index phpsess keeps (phpsess.user_key = user); after the write,
// so that a session that just logged in is listed too.
$state['devices'] = $state['user'] !== null ? phpsess_user_sessions($state['user']) : [];

if ($json) {
    header('Content-Type: application/json');
    echo json_encode($state), "\n";
    exit;
}
$h = static fn ($s): string => htmlspecialchars((string) $s, ENT_QUOTES);
header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>phpsess demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40em; margin: 3em auto; padding: 0 1em; }
  .server { display: inline-block; padding: .2em .8em; border-radius: 1em; color: #fff;
            background: <?= $server === 'web1' ? '#2563eb' : '#16a34a' ?>; }
  .count { font-size: 3em; margin: .2em 0; }
  form { display: inline; }
  button, input { font: inherit; padding: .3em .8em; }
  table { border-collapse: collapse; } td { padding: .1em 1em .1em 0; }
  .note { color: #555; font-size: .9em; }
</style>
</head>
<body>
<h1>phpsess demo</h1>
<p>This page was served by <span class="server"><?= $h($server) ?></span>. Reload it: nginx sends
every request to the other web server, and both read the same session from Redis.</p>
<?php if (!$started): ?>
  <p><strong>session_start() failed</strong> — see the web server's error log.</p>
<?php elseif ($state['user'] === null): ?>
  <?php if ($message): ?><p><strong><?= $h($message) ?></strong></p><?php endif ?>
  <form method="post"><input type="hidden" name="action" value="login">
    <input name="user" placeholder="your name" autofocus> <button>Log in</button></form>
<?php else: ?>
  <p>Logged in as <strong><?= $h($state['user']) ?></strong> (on <?= $h($state['logged_in_on']) ?>).</p>
  <div class="count"><?= (int) $state['count'] ?></div>
  <form method="post"><input type="hidden" name="action" value="count"><button>Count</button></form>
  <form method="post"><input type="hidden" name="action" value="logout"><button>Log out</button></form>
  <?php if ($message): ?><p><strong><?= $h($message) ?></strong></p><?php endif ?>
  <p>Your sessions (devices), from phpsess's per-user index:</p>
  <table><?php foreach ($state['devices'] as $d): ?>
    <tr><td><code><?= $h(substr($d['id'], 0, 8)) ?>…</code></td><td><?= $d['current'] ? 'this device' : 'another device' ?></td>
    <td><?= (int) $d['ttl'] ?> s left</td></tr><?php endforeach ?></table>
  <form method="post"><input type="hidden" name="action" value="logout_others"><button>Log out everywhere else</button></form>
  <p>Pages seen per server:</p>
  <table><?php foreach ($state['seen_by'] as $name => $n): ?>
    <tr><td><?= $h($name) ?></td><td><?= (int) $n ?></td></tr><?php endforeach ?></table>
<?php endif ?>
<p class="note">Session handler: <code><?= $h(ini_get('session.save_handler')) ?></code>,
session locking <?= ini_get('phpsess.locking_enabled') ? 'on' : 'off' ?>.</p>
</body>
</html>
