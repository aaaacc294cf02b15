<?php
// Differential oracle for tests/tests/format/differential.rs: PHP 8.2's own verdict on each input.
//
//   php -n tests/php/unserialize_oracle.php < inputs
//
// stdin: one input per line, base64. stdout: first a line with the class table the test may rely
// on, then one JSON object per input, in order:
//   {"ok": bool, "out": base64 of serialize(unserialize($in)) or null, "messages": [...],
//    "threw": "Class: message" or null}
// "ok" is PHP's verdict: unserialize() failed if it threw, or returned false together with its
// "Error at offset" notice. A false without the notice is the value false (`b:0;`), except for
// the empty input, which unserialize() refuses early without any notice.

declare(strict_types=1);

// The fixtures' classes, so fixture bytes (C:, E:, __unserialize) behave as when PHP wrote them.
// LegacyPayload implements only Serializable, deprecated since 8.1: mask that one notice.
error_reporting(E_ALL & ~E_DEPRECATED);
require dirname(__DIR__, 2) . '/fixtures/classes.php';
error_reporting(E_ALL);

$messages = [];
set_error_handler(function (int $no, string $msg) use (&$messages): bool {
    $messages[] = $msg;
    return true;
});

// The class table: every declared class (for PHP's case-insensitive lookup), the enums with
// their cases, and which classes receive their data through __unserialize().
$classes = get_declared_classes();
$enums = [];
$magic = [];
foreach ($classes as $class) {
    if (enum_exists($class, false)) {
        $enums[$class] = array_map(fn($case) => $case->name, $class::cases());
    }
    if (method_exists($class, '__unserialize')) {
        $magic[] = $class;
    }
}
echo json_encode(['classes' => $classes, 'enums' => $enums, 'magic_unserialize' => $magic], JSON_THROW_ON_ERROR), "\n";

$ERROR_AT_OFFSET = 'unserialize(): Error at offset ';

while (($line = fgets(STDIN)) !== false) {
    $input = base64_decode(rtrim($line, "\n"), true);
    if ($input === false) {
        fwrite(STDERR, "unserialize_oracle.php: line is not base64: $line\n");
        exit(2);
    }
    $messages = [];
    $threw = null;
    $result = null;
    try {
        $result = unserialize($input);
    } catch (Throwable $e) {
        $threw = get_class($e) . ': ' . $e->getMessage();
    }
    $notice = false;
    foreach ($messages as $m) {
        $notice = $notice || str_starts_with($m, $ERROR_AT_OFFSET);
    }
    $failed = $threw !== null || ($result === false && ($notice || $input === ''));
    if (!$failed && $result === false && !str_starts_with($input, 'b:0;')) {
        fwrite(STDERR, 'unserialize_oracle.php: false without a notice for ' . bin2hex($input) . "\n");
        exit(3);
    }
    $out = null;
    if (!$failed) {
        try {
            $out = base64_encode(serialize($result));
        } catch (Throwable $e) {
            $threw = 'serialize: ' . get_class($e) . ': ' . $e->getMessage();
        }
    }
    unset($result);
    echo json_encode(
        ['ok' => !$failed, 'out' => $out, 'messages' => $messages, 'threw' => $threw],
        JSON_INVALID_UTF8_SUBSTITUTE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR
    ), "\n";
}
