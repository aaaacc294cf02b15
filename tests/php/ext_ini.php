<?php
// The phpsess.* INI settings from a script's point of view (tests/tests/ext/registration.rs):
// every one can be changed with ini_set() (PHP_INI_ALL), and booleans are read exactly as PHP
// reads its own boolean settings.
declare(strict_types=1);
require __DIR__ . '/ext_lib.php';

$args = args();
$mode = array_shift($args);

const DEFAULTS = [
    'phpsess.locking_enabled' => '1',
    'phpsess.lock_expire' => '0',
    'phpsess.lock_wait_timeout' => '5000',
    'phpsess.lock_retry_interval' => '20',
    'phpsess.early_refresh' => '0',
    'phpsess.compression' => 'none',
    'phpsess.compression_level' => '3',
    'phpsess.max_session_bytes' => '16M',
    'phpsess.user_key' => '',
    'phpsess.user_index' => '0',
    'phpsess.user_index_max' => '100',
    'phpsess.stats_interval' => '0',
    'phpsess.lock_queue' => '1',
];

switch ($mode) {
    case 'settable':
        $all = ini_get_all('phpsess');
        // phpsess.auth (credentials) and the encryption settings are the ones a script cannot change.
        assert(count($all) === count(DEFAULTS) + 6, json_encode($all));
        assert($all['phpsess.auth']['access'] === INI_SYSTEM, 'phpsess.auth is PHP_INI_SYSTEM');
        assert(ini_set('phpsess.auth', 'x') === false, 'ini_set(phpsess.auth) is refused');
        foreach (['phpsess.encryption', 'phpsess.encryption_key', 'phpsess.previous_keys', 'phpsess.hash_ids', 'phpsess.id_key'] as $name) {
            assert($all[$name]['access'] === (INI_SYSTEM | INI_PERDIR), "$name is PHP_INI_SYSTEM|PHP_INI_PERDIR");
            assert(ini_set($name, 'off') === false, "ini_set($name) is refused");
        }
        foreach (DEFAULTS as $name => $default) {
            assert(ini_get($name) === $default, "$name defaults to $default, got " . var_export(ini_get($name), true));
            assert($all[$name]['access'] === INI_ALL, "$name is changeable everywhere");
            assert(ini_set($name, '7') === $default, "ini_set($name) returns the old value");
            assert(ini_get($name) === '7');
        }
        report(['count' => count($all)]);
        break;

    case 'bools':
        // PHP's own reading of a boolean INI (ignore_user_abort is OnUpdateBool) against ours
        // (phpsess.locking_enabled, shown as "Effective locking" by phpinfo).
        $rows = [];
        foreach ($args as $value) {
            ini_set('ignore_user_abort', $value);
            $php = ignore_user_abort() === 1;
            assert(ini_set('phpsess.locking_enabled', $value) !== false);
            $ours = str_starts_with(phpsess_info()['Effective locking'], 'on');
            $rows[] = [$value, $php, $ours];
            assert($php === $ours, "'$value': PHP reads " . var_export($php, true));
        }
        report(['rows' => $rows]);
        break;

    default:
        throw new LogicException("unknown mode $mode");
}
