<?php
// phpsess_stats(): this worker's counters as an array, for an application's own metrics endpoint
// (tests/tests/ext/stats_fn.rs). Before any session they are zero; one locked session costs one
// request, one connection and the round trips the README promises.
declare(strict_types=1);

$names = ['pid', 'requests', 'errors', 'panics', 'stores', 'round_trips', 'commands', 'connects',
    'lock_waits', 'lock_wait_ms', 'lock_handoffs', 'lock_fallbacks', 'lock_timeouts',
    'lock_wait_le_2ms', 'lock_wait_le_10ms', 'lock_wait_le_50ms', 'lock_wait_le_200ms',
    'lock_wait_le_1000ms', 'lock_wait_le_5000ms', 'lock_wait_gt_5000ms', 'lock_losses',
    'store_errors'];
$before = phpsess_stats();
assert(array_keys($before) === $names, 'the counters, by name, in a stable order');
assert($before['pid'] === getmypid());
assert($before['requests'] === 0 && $before['round_trips'] === 0);
foreach ($before as $v) {
    assert(is_int($v));
}

session_id('statsfn1');
assert(session_start());
$_SESSION['n'] = 1;
assert(session_write_close());
$after = phpsess_stats();
assert($after['requests'] === 1);
assert($after['connects'] === 1);
assert($after['errors'] === 0 && $after['store_errors'] === 0);
echo json_encode($after), "\n";
