<?php
// Writes the three format-benchmark payloads with PHP's own serialize():
//   laravel.ser  ~300 B  a Laravel-style session array (what SessionManager stores)
//   cart.ser     ~10 KB  a nested shopping cart: ints, floats, strings, nested options, objects
//   large.ser    ~1 MB   a big session: many entries of mixed types, nested arrays, objects
//   objects.ser  ~12 KB  saved cart items: objects with public, protected and private properties
//   refs.ser     ~600 B  a session with object handles (r:) and PHP references (R:)
// Deterministic: fixed mt_srand seed, no clock, no environment; the same PHP gives the same bytes.
//
// Usage: php -n bench/payloads.php <dir>

declare(strict_types=1);

require __DIR__ . '/classes.php';

use App\Cart\CartItem;
use App\Cart\Money;

if ($argc !== 2) {
    fwrite(STDERR, "usage: php bench/payloads.php <dir>\n");
    exit(2);
}
$dir = $argv[1];
if (!is_dir($dir) && !mkdir($dir, 0777, true)) {
    fwrite(STDERR, "cannot create $dir\n");
    exit(1);
}

mt_srand(20240611, MT_RAND_MT19937);

function word(int $min, int $max): string
{
    static $alphabet = 'abcdefghijklmnopqrstuvwxyz';
    $n = mt_rand($min, $max);
    $s = '';
    for ($i = 0; $i < $n; $i++) {
        $s .= $alphabet[mt_rand(0, 25)];
    }
    return $s;
}

function token(int $len): string
{
    static $alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    $s = '';
    for ($i = 0; $i < $len; $i++) {
        $s .= $alphabet[mt_rand(0, 61)];
    }
    return $s;
}

function sentence(int $words): string
{
    $w = [];
    for ($i = 0; $i < $words; $i++) {
        $w[] = word(2, 9);
    }
    return ucfirst(implode(' ', $w)) . '.';
}

function price(): float
{
    // Two-decimal prices print short ("12.99"); a few computed values print all 17 digits.
    return mt_rand(99, 99999) / 100;
}

function laravel_session(): array
{
    return [
        '_token' => token(40),
        '_previous' => ['url' => 'https://shop.example.com/account/orders?page=' . mt_rand(1, 9)],
        '_flash' => ['old' => [], 'new' => []],
        'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 42,
        'locale' => 'en',
    ];
}

function cart_item(int $i): array
{
    $options = [
        'color' => ['red', 'green', 'navy', 'black', 'white'][mt_rand(0, 4)],
        'size' => ['XS', 'S', 'M', 'L', 'XL'][mt_rand(0, 4)],
        'gift_wrap' => (bool) mt_rand(0, 1),
    ];
    if (mt_rand(0, 2) === 0) {
        $options['engraving'] = ['text' => sentence(3), 'font' => 'serif', 'lines' => mt_rand(1, 3)];
    }
    $qty = mt_rand(1, 5);
    $unit = price();
    return [
        'id' => 1000 + $i,
        'product_id' => mt_rand(10000, 99999),
        'sku' => strtoupper(token(3)) . '-' . mt_rand(1000, 9999),
        'name' => ucfirst(word(4, 10)) . ' ' . word(4, 10),
        'quantity' => $qty,
        'unit_price' => $unit,
        'line_total' => $unit * $qty * 1.0825,
        'tax_rate' => 0.0825,
        'discount' => mt_rand(0, 3) === 0 ? price() / 10 : null,
        'options' => $options,
        'added_at' => 1718000000 + mt_rand(0, 86400 * 30),
    ];
}

function cart(): array
{
    $items = [];
    for ($i = 0; $i < 22; $i++) {
        $items[] = cart_item($i);
    }
    $objects = [];
    for ($i = 0; $i < 2; $i++) {
        $objects[] = new CartItem(
            mt_rand(10000, 99999),
            strtoupper(token(3)) . '-' . mt_rand(1000, 9999),
            ucfirst(word(4, 10)),
            mt_rand(1, 3),
            new Money(mt_rand(100, 99999), 'EUR'),
            ['color' => 'black', 'size' => 'M'],
        );
    }
    return [
        '_token' => token(40),
        'cart' => [
            'id' => 'cart_' . token(16),
            'currency' => 'EUR',
            'items' => $items,
            'saved_for_later' => $objects,
            'coupon' => ['code' => strtoupper(token(8)), 'percent' => 15, 'expires' => 1719000000],
            'shipping' => [
                'method' => 'express',
                'cost' => 9.95,
                'address' => [
                    'name' => ucfirst(word(4, 8)) . ' ' . ucfirst(word(5, 10)),
                    'street' => mt_rand(1, 200) . ' ' . ucfirst(word(5, 10)) . ' Street',
                    'city' => ucfirst(word(5, 10)),
                    'zip' => (string) mt_rand(10000, 99999),
                    'country' => 'DE',
                ],
            ],
            'totals' => ['subtotal' => 1234.5, 'tax' => 101.84, 'grand_total' => 1346.29],
        ],
        'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d' => 42,
    ];
}

function large_session(): array
{
    $s = laravel_session();
    $s['cart'] = cart()['cart'];
    // Recently viewed products: a long list of small records.
    $viewed = [];
    for ($i = 0; $i < 2400; $i++) {
        $viewed[] = [
            'id' => mt_rand(1, 999999),
            'slug' => word(5, 12) . '-' . word(4, 10),
            'price' => price(),
            'rating' => mt_rand(0, 50) / 10,
            'in_stock' => (bool) mt_rand(0, 1),
            'seen_at' => 1718000000 + $i * 37,
        ];
    }
    $s['recently_viewed'] = $viewed;
    // A search history keyed by string (hash-like keys).
    $searches = [];
    for ($i = 0; $i < 1500; $i++) {
        $searches['q_' . token(12)] = [
            'query' => sentence(mt_rand(1, 4)),
            'results' => mt_rand(0, 5000),
            'filters' => ['brand' => word(3, 8), 'max_price' => price(), 'sort' => null],
        ];
    }
    $s['searches'] = $searches;
    // Audit trail: strings with some length and a float timing per entry.
    $audit = [];
    for ($i = 0; $i < 1200; $i++) {
        $audit[] = [
            'event' => ['view', 'add', 'remove', 'checkout', 'login'][mt_rand(0, 4)],
            'detail' => sentence(mt_rand(6, 20)),
            'ms' => mt_rand() / mt_getrandmax() * 250,
            'ok' => mt_rand(0, 9) !== 0,
        ];
    }
    $s['audit'] = $audit;
    // Objects: saved carts as CartItem objects with Money values.
    $saved = [];
    for ($i = 0; $i < 300; $i++) {
        $saved['saved_' . $i] = new CartItem(
            mt_rand(10000, 99999),
            strtoupper(token(3)) . '-' . mt_rand(1000, 9999),
            ucfirst(word(4, 10)),
            mt_rand(1, 3),
            new Money(mt_rand(100, 99999), 'EUR'),
            ['color' => word(3, 6), 'size' => 'M'],
        );
    }
    $s['saved_items'] = $saved;
    // An opaque blob, as apps store (base64 of random bytes).
    $s['avatar_preview'] = base64_encode(random_bytes_seeded(48 * 1024));
    return $s;
}

function objects(): array
{
    $saved = [];
    for ($i = 0; $i < 60; $i++) {
        $saved[] = new CartItem(
            mt_rand(10000, 99999),
            strtoupper(token(3)) . '-' . mt_rand(1000, 9999),
            ucfirst(word(4, 10)),
            mt_rand(1, 3),
            new Money(mt_rand(100, 99999), 'EUR'),
            ['color' => word(3, 6), 'size' => 'M'],
        );
    }
    return ['_token' => token(40), 'saved_items' => $saved];
}

function references(): array
{
    // The same Money object in several places is written once, then as r:N; handles; the `&`
    // references (a form field bound to the cart's, a shared flash list) are R:N;.
    $price = new Money(1299, 'EUR');
    $s = laravel_session();
    $s['cart'] = [
        'items' => [
            ['sku' => 'TEA-1001', 'qty' => 2, 'price' => $price],
            ['sku' => 'SCN-2002', 'qty' => 6, 'price' => new Money(350, 'EUR')],
            ['sku' => 'TEA-1001', 'qty' => 1, 'price' => $price],
        ],
        'last_price' => $price,
        'note' => 'leave at the door',
    ];
    $s['form'] = ['note' => ''];
    $s['form']['note'] = &$s['cart']['note'];
    $s['recent'] = ['tea', 'scones', 'jam'];
    $s['recent_copy'] = &$s['recent'];
    return $s;
}

function random_bytes_seeded(int $n): string
{
    $s = '';
    for ($i = 0; $i < $n; $i++) {
        $s .= chr(mt_rand(0, 255));
    }
    return $s;
}

$payloads = [
    'laravel' => laravel_session(),
    'cart' => cart(),
    'large' => large_session(),
    'objects' => objects(),
    'refs' => references(),
];
foreach ($payloads as $name => $value) {
    $bytes = serialize($value);
    if (serialize(unserialize($bytes)) !== $bytes) {
        fwrite(STDERR, "$name: serialize(unserialize()) is not the identity\n");
        exit(1);
    }
    $path = "$dir/$name.ser";
    if (file_put_contents($path, $bytes) !== strlen($bytes)) {
        fwrite(STDERR, "cannot write $path\n");
        exit(1);
    }
    printf("%s %d bytes\n", $path, strlen($bytes));
}
