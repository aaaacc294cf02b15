<?php
// Shared by the tests/php/ext_*.php scripts (run by tests/tests/ext/*.rs with the phpsess
// extension loaded): collect warnings and notices instead of printing them, buffer output so
// session_start() works in the CLI, and report one JSON line for the Rust side.
declare(strict_types=1);

final class Seen
{
    /** @var list<string> every warning and notice, in order, as PHP formatted it */
    public static array $messages = [];
}

set_error_handler(static function (int $errno, string $message): bool {
    Seen::$messages[] = $message;
    return true;
});
ob_start();

/** The collected messages that contain $needle. */
function messages_with(string $needle): array
{
    return array_values(array_filter(Seen::$messages, static fn (string $m): bool => str_contains($m, $needle)));
}

/** Milliseconds since $start (a hrtime(true) value). */
function ms_since(int $start): float
{
    return (hrtime(true) - $start) / 1e6;
}

/** Prints $result plus the collected messages as the last line of output. */
function report(array $result = []): void
{
    while (ob_get_level() > 0) {
        ob_end_clean();
    }
    $result['warnings'] = Seen::$messages;
    echo json_encode($result, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
}

/** The arguments after the script name. */
function args(): array
{
    return array_slice($_SERVER['argv'], 1);
}

/** phpinfo()'s phpsess section as name => value ("A => B => C" keeps "B => C"). */
function phpsess_info(): array
{
    ob_start();
    phpinfo(INFO_MODULES);
    $text = ob_get_clean();
    if (PHP_SAPI !== 'cli') {
        // HTML tables: one row per line, cells joined as the CLI joins them.
        $text = preg_replace('#</t[dh]>\s*<t[dh][^>]*>#', ' => ', $text);
        $text = html_entity_decode(strip_tags($text));
    }
    $start = strpos($text, "\nphpsess\n");
    assert($start !== false, 'phpinfo has a phpsess section');
    $rows = [];
    foreach (explode("\n", substr($text, $start + 9)) as $line) {
        if (str_contains($line, ' => ')) {
            [$name, $value] = explode(' => ', $line, 2);
            $rows[trim($name)] = trim(preg_replace('/\s+=>\s+/', ' => ', $value));
        }
        if (str_starts_with(trim($line), 'Open session states')) {
            break;
        }
    }
    return $rows;
}
