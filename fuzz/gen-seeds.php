<?php
// Writes the committed fuzz seeds from real PHP 8.2 output:
//   seeds/unserialize/*.ser     serialize() of values covering every type tag (N b i d s a O C E r R)
//   seeds/session_decode/*.sess session_encode() under php, php_serialize and php_binary
// seeds/document is a link to seeds/unserialize (both targets read serialize() output).
// seeds/save_path/ is hand-written (phpredis save_path examples) and not touched here.
//
// Usage: php -n fuzz/gen-seeds.php   (rewrites the files; the output is deterministic)

declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED);

final class Account
{
    public string $name = 'ann';
    protected int $id = 7;
    private ?array $roles = ['admin', 'dev'];
}

final class Legacy implements Serializable
{
    public function __construct(private string $data = 'x:1')
    {
    }

    public function serialize(): string
    {
        return $this->data;
    }

    public function unserialize(string $data): void
    {
        $this->data = $data;
    }
}

enum Suit: string
{
    case Hearts = 'H';
    case Spades = 'S';
}

$dir = __DIR__ . '/seeds';

function put(string $path, string $bytes): void
{
    if (!is_dir(dirname($path))) {
        mkdir(dirname($path), 0777, true);
    }
    file_put_contents($path, $bytes);
}

$shared = new stdClass();
$shared->n = 1;
$list = [1, 2, 3];
$withRef = ['a' => 1];
$withRef['b'] = &$withRef['a'];

$values = [
    'null' => null,
    'bools' => [true, false],
    'ints' => [0, -1, PHP_INT_MAX, PHP_INT_MIN, 42],
    'floats' => [0.1, -0.0, 1e100, 1.5e-7, INF, -INF, NAN, 0.30000000000000004],
    'strings' => ['', 'abc', "bin\0\xff\"q;", str_repeat('x', 40)],
    'array-keys' => ['5' => 'int key', '05' => 'string key', -3 => 'neg', 'k' => ['nested' => []]],
    'list' => $list,
    'object-visibility' => new Account(),
    'stdclass' => (object) ['a' => 1, 'b' => [1.5, 'x']],
    'custom-serializable' => new Legacy(),
    'enum' => [Suit::Hearts, Suit::Spades, Suit::Hearts],
    'object-ref' => [$shared, $shared],
    'reference' => $withRef,
    'laravel' => [
        '_token' => 'Um8AOiEJLXg6NyE0SXOCw6JRJLGpwtJxaVdQjRcR',
        '_previous' => ['url' => 'https://example.com/home'],
        '_flash' => ['old' => [], 'new' => []],
        'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 42,
    ],
];
foreach ($values as $name => $value) {
    put("$dir/unserialize/$name.ser", serialize($value));
}
// serialize() never writes S: (escaped strings) but unserialize() still reads it; PHP checks it here.
$escaped = 'a:1:{S:1:"\\6b";S:4:"\\00\\ffok";}';
if (unserialize($escaped) !== ['k' => "\0\xffok"]) {
    fwrite(STDERR, "PHP no longer reads $escaped as expected\n");
    exit(1);
}
put("$dir/unserialize/escaped-string.ser", $escaped);

// Session encodings: session_encode() needs an active session; the files handler in a temp dir.
$tmp = sys_get_temp_dir() . '/phpsess-fuzz-seeds-' . getmypid();
mkdir($tmp);
ini_set('session.save_path', $tmp);
ini_set('session.use_cookies', '0');
ini_set('session.cache_limiter', '');
$sessions = [
    'simple' => ['user' => 'ann', 'n' => 2],
    'laravel' => $values['laravel'],
    'mixed' => ['cart' => [['sku' => 'A-1', 'qty' => 2, 'price' => 9.95]], 'obj' => new Account(), 'flag' => true],
    'references' => ['shared' => $shared, 'again' => $shared, 'list' => [1, 2]],
];
foreach (['php', 'php_serialize', 'php_binary'] as $handler) {
    ini_set('session.serialize_handler', $handler);
    foreach ($sessions as $name => $vars) {
        session_id('seed' . md5($handler . $name));
        session_start();
        $_SESSION = $vars;
        if ($name === 'references') {
            $_SESSION['ref'] = &$_SESSION['list'];
        }
        put("$dir/session_decode/$handler-$name.sess", session_encode());
        session_destroy();
    }
}
rmdir($tmp);
