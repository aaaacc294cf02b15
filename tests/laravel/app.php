<?php
// A tiny Laravel 8.83 "app" for the compat suite: Debian's php-laravel-framework
// (/usr/share/php/Illuminate) booted without Foundation\Application, running ONE request through the
// real EncryptCookies -> StartSession middleware with the Redis session driver over phpredis, a
// SessionGuard, and the real Encrypter. Driven by tests/tests/fleet/laravel_compat.rs.
//
// Usage: php -d zend.assertions=1 -d assert.exception=1 tests/laravel/app.php '<json request>'
// (Debian's conf.d must load: phpredis, igbinary, mbstring, ctype.)
//
// Request fields:
//   port      redis-server port on 127.0.0.1 (db 0 for sessions, db 1 for the cache connection)
//   app_key   APP_KEY ("base64:...")
//   cipher    app.cipher ("aes-256-cbc", "aes-256-gcm", ...)
//   encrypt   session.encrypt (bool)
//   action    "login"     GET /home: log user 42 in with the web guard, put from_php = "hello"
//             "show"      GET /home: report what the session holds
//             "cache_put" put cache key "greeting" through the cache store (same prefix as sessions)
//   cookie    the laravel_session cookie value as PHP's $_COOKIE would hold it (URL-decoded), or null
//   user      (optional) the id "login" logs in, int or string; 42 when absent
//   guard     (optional) the SessionGuard's name; "web" when absent
//   put       (optional) an object of attributes "login" also puts into the session
//
// Prints one JSON object: the session id, the Set-Cookie value (decoded and as sent), and what the
// action saw (user id through the guard, attributes).

declare(strict_types=1);

require '/usr/share/php/Illuminate/autoload.php';

use Illuminate\Auth\GenericUser;
use Illuminate\Auth\SessionGuard;
use Illuminate\Cache\CacheManager;
use Illuminate\Config\Repository as Config;
use Illuminate\Container\Container;
use Illuminate\Contracts\Auth\Authenticatable;
use Illuminate\Contracts\Auth\UserProvider;
use Illuminate\Cookie\Middleware\EncryptCookies;
use Illuminate\Encryption\Encrypter;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Illuminate\Pipeline\Pipeline;
use Illuminate\Redis\RedisManager;
use Illuminate\Routing\Route;
use Illuminate\Session\Middleware\StartSession;
use Illuminate\Session\SessionManager;
use Illuminate\Support\DateFactory;
use Illuminate\Support\Facades\Facade;

$req = json_decode($argv[1] ?? '', true, 16, JSON_THROW_ON_ERROR);
assert(is_int($req['port']));
assert(extension_loaded('redis'), 'phpredis must be loaded (run php with Debian conf.d)');

const USER_ID = 42;
const COOKIE = 'laravel_session';

$app = new Container();
Container::setInstance($app);
Facade::setFacadeApplication($app);

// The 8.x skeleton's defaults for APP_NAME=Laravel (laravel/laravel 8.x config/database.php,
// config/cache.php, config/session.php): REDIS_PREFIX laravel_database_,
// CACHE_PREFIX laravel_cache, session cookie laravel_session, lifetime 120 minutes.
$config = new Config([
    'app' => ['key' => $req['app_key'], 'cipher' => $req['cipher']],
    'database' => ['redis' => [
        'client' => 'phpredis',
        'options' => ['prefix' => 'laravel_database_'],
        'default' => ['host' => '127.0.0.1', 'port' => $req['port'], 'database' => 0],
        'cache' => ['host' => '127.0.0.1', 'port' => $req['port'], 'database' => 1],
    ]],
    'cache' => [
        'default' => 'redis',
        'stores' => ['redis' => ['driver' => 'redis', 'connection' => 'cache']],
        'prefix' => 'laravel_cache',
    ],
    'session' => [
        'driver' => 'redis', 'lifetime' => 120, 'expire_on_close' => false,
        'encrypt' => (bool) $req['encrypt'], 'files' => null, 'connection' => null,
        'table' => 'sessions', 'store' => null, 'lottery' => [2, 100], 'cookie' => COOKIE,
        'path' => '/', 'domain' => null, 'secure' => false, 'http_only' => true,
        'same_site' => 'lax',
    ],
]);
$app->instance('config', $config);
$app->singleton('date', fn () => new DateFactory());
$app->singleton('redis', fn ($app) => new RedisManager($app, 'phpredis', $config->get('database.redis')));
$app->singleton('cache', fn ($app) => new CacheManager($app));
$app->singleton('encrypter', function () use ($config) {
    // EncryptionServiceProvider::parseKey.
    $key = $config->get('app.key');
    if (str_starts_with($key, 'base64:')) {
        $key = base64_decode(substr($key, 7));
    }
    return new Encrypter($key, $config->get('app.cipher'));
});
$app->alias('encrypter', Illuminate\Contracts\Encryption\Encrypter::class);
$app->singleton('session', fn ($app) => new SessionManager($app));

$provider = new class implements UserProvider {
    public function retrieveById($identifier)
    {
        // Every id is a user: the tests log in several (int and string ids) and only ask whether
        // the session still names one.
        return new GenericUser(['id' => $identifier, 'password' => 'x']);
    }
    public function retrieveByToken($identifier, $token)
    {
        return null;
    }
    public function updateRememberToken(Authenticatable $user, $token)
    {
    }
    public function retrieveByCredentials(array $credentials)
    {
        return null;
    }
    public function validateCredentials(Authenticatable $user, array $credentials)
    {
        return false;
    }
};

$cookies = $req['cookie'] === null ? [] : [COOKIE => $req['cookie']];
$request = Request::create('http://localhost/home', 'GET', [], $cookies);
// StartSession stores _previous.url only for routed requests.
$route = new Route(['GET'], '/home', fn () => null);
$request->setRouteResolver(fn () => $route);

$seen = [];
$action = function (Request $request) use (&$seen, $req, $provider, $app) {
    $session = $request->session();
    $guard = new SessionGuard($req['guard'] ?? 'web', $provider, $session, $request);
    switch ($req['action']) {
        case 'login':
            $guard->login(new GenericUser(['id' => $req['user'] ?? USER_ID, 'password' => 'x']));
            $session->put('from_php', 'hello');
            foreach ($req['put'] ?? [] as $name => $value) {
                $session->put($name, $value);
            }
            break;
        case 'show':
            break;
        case 'cache_put':
            $app['cache']->store('redis')->put('greeting', 'hi', 600);
            break;
        default:
            throw new InvalidArgumentException('unknown action ' . $req['action']);
    }
    $seen = [
        'user_id' => $guard->id(),
        'token' => $session->token(),
        'from_php' => $session->get('from_php'),
        'rust_note' => $session->get('rust_note'),
        'rust_count' => $session->get('rust_count'),
        'status' => $session->get('status'),
        'previous_url' => $session->previousUrl(),
    ];
    return new Response('ok');
};

$response = (new Pipeline($app))
    ->send($request)
    ->through([new EncryptCookies($app['encrypter']), new StartSession($app['session'])])
    ->then($action);

$out = ['seen' => $seen, 'session_id' => $app['session']->driver()->getId()];
foreach ($response->headers->getCookies() as $cookie) {
    if ($cookie->getName() === COOKIE) {
        $out['cookie'] = $cookie->getValue();
        $out['set_cookie'] = (string) $cookie;
    }
}
assert(isset($out['cookie']), 'StartSession set no session cookie');
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
