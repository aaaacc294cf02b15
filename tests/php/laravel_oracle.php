<?php
// PHP side of tests/tests/format/laravel_php_oracle.rs: Laravel 8.83's own functions (Debian's
// php-laravel-framework) answering questions the Rust laravel module must answer the same way.
//
// Run as: php -d zend.assertions=1 -d assert.exception=1 laravel_oracle.php
// (with Debian's conf.d: Str::slug needs mbstring.)
//
// stdin: one base64 JSON request per line; stdout: one JSON answer per line.
//   {"op":"slug","title":T,"sep":S}                 -> {"slug": Str::slug(T, S)}
//   {"op":"prefix","name":N,"key":K}                -> {"prefix": CookieValuePrefix::create(N, raw K)}
//   {"op":"decrypt","key":K,"cipher":C,"payload":P,"unserialize":B}
//                                                   -> {"plain_b64": ...} or {"error": message}
//   {"op":"encrypt","key":K,"cipher":C,"plain_b64":X} -> {"payload": Encrypter::encryptString(X)}
//   {"op":"json_encode","serialized_b64":S}         -> {"json": json_encode(unserialize(S))} or {"json": null}
//   {"op":"json_decode","json":J}                   -> {"serialized_b64": serialize(json_decode(J, true))} or {"error": ...}
// K is an APP_KEY string ("base64:..." or raw).
//
// Before answering, selfcheck() asserts the facts the Rust module's docs cite.

declare(strict_types=1);

require '/usr/share/php/Illuminate/autoload.php';
require __DIR__ . '/../../fixtures/classes.php';

use Illuminate\Cookie\CookieValuePrefix;
use Illuminate\Encryption\Encrypter;
use Illuminate\Support\Str;

function raw_key(string $key): string
{
    // EncryptionServiceProvider::parseKey.
    return str_starts_with($key, 'base64:') ? base64_decode(substr($key, 7)) : $key;
}

function selfcheck(): void
{
    // sha1 of the stock guard class: the login_<guard>_<sha1> session key.
    assert(sha1(Illuminate\Auth\SessionGuard::class) === '59ba36addc2b2f9401580f014c7f58ea4e30989d');
    // json_encode default flags: "\/" and "\u00e9", floats as serialize() spells them but with "e".
    assert(json_encode(['a/b', "\u{e9}", 1.0, 1e25]) === '["a\/b","\u00e9",1,1.0e+25]');
    // json_decode(assoc): "-0" is the int 0, a too large integer a float, "5" the int key 5.
    assert(json_decode('[-0]', true) === [0]);
    assert(is_float(json_decode('9223372036854775808', true)));
    assert(json_decode('{"5":1}', true) === [5 => 1]);
    // Laravel 8.83 refuses an uppercase MAC (hash_equals is exact).
    $e = new Encrypter(str_repeat('k', 32), 'aes-256-cbc');
    $p = json_decode(base64_decode($e->encryptString('x')), true);
    $p['mac'] = strtoupper($p['mac']);
    try {
        $e->decryptString(base64_encode(json_encode($p)));
        assert(false, 'uppercase MAC accepted');
    } catch (Illuminate\Contracts\Encryption\DecryptException $ex) {
        assert($ex->getMessage() === 'The MAC is invalid.');
    }
}

selfcheck();

while (($line = fgets(STDIN)) !== false) {
    $req = json_decode(base64_decode(trim($line)), true, 16, JSON_THROW_ON_ERROR);
    switch ($req['op']) {
        case 'slug':
            $out = ['slug' => Str::slug($req['title'], $req['sep'])];
            break;
        case 'prefix':
            $out = ['prefix' => CookieValuePrefix::create($req['name'], raw_key($req['key']))];
            break;
        case 'decrypt':
            try {
                $e = new Encrypter(raw_key($req['key']), $req['cipher']);
                $plain = $e->decrypt($req['payload'], $req['unserialize']);
                $out = ['plain_b64' => base64_encode($req['unserialize'] ? serialize($plain) : $plain)];
            } catch (Throwable $t) {
                $out = ['error' => $t->getMessage()];
            }
            break;
        case 'encrypt':
            $e = new Encrypter(raw_key($req['key']), $req['cipher']);
            $out = ['payload' => $e->encryptString(base64_decode($req['plain_b64']))];
            break;
        case 'json_encode':
            $v = unserialize(base64_decode($req['serialized_b64']));
            $j = json_encode($v);
            $out = ['json' => $j === false ? null : $j];
            break;
        case 'json_decode':
            $v = json_decode($req['json'], true);
            $out = json_last_error() === JSON_ERROR_NONE
                ? ['serialized_b64' => base64_encode(serialize($v))]
                : ['error' => json_last_error_msg()];
            break;
        default:
            throw new InvalidArgumentException('unknown op ' . $req['op']);
    }
    echo json_encode($out, JSON_THROW_ON_ERROR), "\n";
}
