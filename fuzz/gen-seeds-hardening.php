<?php
// Writes the committed seeds of the fuzz targets added for issue 9 from real PHP 8.2, Laravel 8's
// Encrypter and phpredis's compressors:
//   seeds/laravel_json/*.json      json_encode() of session attribute arrays
//   seeds/laravel_payload/*        RedisStore values: serialize()d and JSON payloads, plain and encrypted
//   seeds/laravel_cookie/*         Laravel cookies (CookieValuePrefix + Encrypter, CBC and GCM)
//   seeds/decompress/*             selector byte + phpredis Redis::_compress() output (lzf, zstd, lz4)
// seeds/serde_from_bytes links to seeds/unserialize; seeds/lossless_json is written by
// `phpsess decode --lossless` over seeds/unserialize (see scripts in the README's fuzzing section).
//
// Usage: redis-server --port 46399 --save '' & REDIS_PORT=46399 \
//        php -n -d extension=mbstring -d extension=igbinary -d extension=redis fuzz/gen-seeds-hardening.php
// The APP_KEY is the fixed one the targets use. Encrypted seeds use random IVs, so reruns differ.

declare(strict_types=1);

require '/usr/share/php/Illuminate/Support/helpers.php';
spl_autoload_register(static function (string $class): void {
    $file = '/usr/share/php/' . str_replace('\\', '/', $class) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

use Illuminate\Cookie\CookieValuePrefix;
use Illuminate\Encryption\Encrypter;

$dir = __DIR__ . '/seeds';
function put(string $path, string $bytes): void
{
    @mkdir(dirname($path), 0777, true);
    file_put_contents($path, $bytes);
}

$sessions = [
    'login' => ['_token' => str_repeat('a', 40), 'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 42,
        '_previous' => ['url' => 'https://example.test/home'], '_flash' => ['old' => [], 'new' => []]],
    'cart' => ['cart' => array_fill(0, 5, ['sku' => 'x-1', 'qty' => 2, 'price' => 9.99]), 'n' => null, 'ok' => true],
    'unicode' => ['name' => "J\u{00e9}r\u{00f4}me \u{1F600}", 'slash' => 'a/b', 'neg' => -0.0, 'big' => PHP_INT_MAX],
    'list' => [1, 2.5, 'three', [4]],
];
$key = base64_decode('MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=');
$cbc = new Encrypter($key, 'AES-256-CBC');
$gcm = new Encrypter($key, 'AES-256-GCM');
foreach ($sessions as $name => $attrs) {
    $json = json_encode($attrs);
    put("$dir/laravel_json/$name.json", $json);
    put("$dir/laravel_payload/$name-php", serialize(serialize($attrs)));
    put("$dir/laravel_payload/$name-json", serialize($json));
    put("$dir/laravel_payload/$name-php-encrypted", serialize($cbc->encrypt(serialize($attrs))));
    $id = substr(hash('sha256', $name), 0, 40);
    $value = CookieValuePrefix::create('laravel_session', $key) . $id;
    put("$dir/laravel_cookie/$name-cbc", $cbc->encrypt($value, false));
    put("$dir/laravel_cookie/$name-gcm", $gcm->encrypt($value, false));
}

// phpredis only compresses on a connected object: a throwaway redis-server on REDIS_PORT.
$redis = new Redis();
$redis->connect('127.0.0.1', (int) getenv('REDIS_PORT'));
$algos = ['lzf' => [0, Redis::COMPRESSION_LZF], 'zstd' => [1, Redis::COMPRESSION_ZSTD], 'lz4' => [2, Redis::COMPRESSION_LZ4]];
foreach ($algos as $name => [$selector, $option]) {
    $redis->setOption(Redis::OPT_COMPRESSION, $option);
    foreach (['login' => serialize($sessions['login']), 'zeros' => str_repeat("\0", 4096), 'tiny' => 'a|i:1;'] as $what => $plain) {
        // Selector: algorithm = byte % 3, limit = 1 KiB << (byte / 3 % 11); 3 * 4 = 16 KiB limit.
        put("$dir/decompress/$name-$what", chr($selector + 3 * 4) . $redis->_compress($plain));
    }
}
