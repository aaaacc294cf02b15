//! `phpsess_stats(): array`: this worker's counters (the ones `php --ri phpsess` shows) returned
//! to PHP, so an application can publish them on its own metrics endpoint. The counters are read
//! inside the panic boundary; the array is built inside [`php_call`], as in `functions.rs`.

use ext_php_rs::builders::FunctionBuilder;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ExecuteData;

use crate::boundary::{guard, php_call};

/// The functions, for the module builder.
pub fn all() -> Vec<FunctionBuilder<'static>> {
    vec![
        FunctionBuilder::new("phpsess_stats", phpsess_stats).returns(DataType::Array, false, false),
    ]
}

/// This worker's counters by name, in a stable order.
fn counters() -> Vec<(&'static str, u64)> {
    let r = crate::worker::report();
    let mut counters = vec![
        ("pid", u64::from(r.pid)),
        ("requests", r.requests),
        ("errors", r.errors),
        ("panics", r.panics),
        ("stores", r.stores as u64),
        ("round_trips", r.store.round_trips),
        ("commands", r.store.commands),
        ("connects", r.store.connects),
        ("lock_waits", r.store.lock_waits),
        ("lock_wait_ms", r.store.lock_wait_ms),
        ("lock_handoffs", r.store.lock_handoffs),
        ("lock_fallbacks", r.store.lock_fallbacks),
        ("lock_timeouts", r.store.lock_timeouts),
    ];
    counters.extend(
        phpsess::store::WAIT_BUCKET_NAMES
            .into_iter()
            .zip(r.store.lock_wait_buckets),
    );
    counters.push(("lock_losses", r.store.lock_losses));
    counters.push(("store_errors", r.store.errors));
    counters
}

/// `phpsess_stats(): array`: `["pid" => …, "requests" => …, "round_trips" => …, …]`.
extern "C" fn phpsess_stats(_ex: &mut ExecuteData, retval: &mut Zval) {
    let counters = guard("phpsess_stats", Vec::new(), counters);
    let built = php_call(counters, |counters| {
        let mut array = ZendHashTable::new();
        for (name, value) in counters {
            // Counters never reach i64::MAX; saturate rather than wrap if one ever did.
            let value = i64::try_from(*value).unwrap_or(i64::MAX);
            // A long under a short string key: nothing to convert, nothing to fail.
            let _ = array.insert(*name, value);
        }
        array
    });
    match built {
        Some(array) => retval.set_hashtable(array),
        None => retval.set_null(),
    }
}
