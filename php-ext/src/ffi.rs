//! Raw FFI: a mirror of PHP 8.2's session module ABI (`ps_module`, php_session.h), the few PHP
//! functions ext-php-rs does not bind, and the module dependency table. Layouts are asserted at
//! compile time, so a mismatch fails the build instead of corrupting a worker.

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};

use ext_php_rs::ffi::{_zend_module_dep, zend_long, zend_module_entry, zend_string};

/// `zend_result` SUCCESS.
pub const SUCCESS: c_int = 0;
/// `zend_result` FAILURE.
pub const FAILURE: c_int = -1;

/// `MODULE_PERSISTENT` (zend_modules.h): loaded from php.ini or `-d extension=`.
pub const MODULE_PERSISTENT: c_int = 1;

/// `MODULE_DEP_REQUIRED` (zend_modules.h).
const MODULE_DEP_REQUIRED: u8 = 1;

/// `PS_OPEN_ARGS`: `void **mod_data, const char *save_path, const char *session_name`.
pub type OpenFn = unsafe extern "C" fn(*mut *mut c_void, *const c_char, *const c_char) -> c_int;
/// `PS_CLOSE_ARGS`: `void **mod_data`.
pub type CloseFn = unsafe extern "C" fn(*mut *mut c_void) -> c_int;
/// `PS_READ_ARGS`: `void **mod_data, zend_string *key, zend_string **val, zend_long maxlifetime`.
pub type ReadFn = unsafe extern "C" fn(
    *mut *mut c_void,
    *mut zend_string,
    *mut *mut zend_string,
    zend_long,
) -> c_int;
/// `PS_WRITE_ARGS` and `PS_UPDATE_TIMESTAMP_ARGS`:
/// `void **mod_data, zend_string *key, zend_string *val, zend_long maxlifetime`.
pub type WriteFn =
    unsafe extern "C" fn(*mut *mut c_void, *mut zend_string, *mut zend_string, zend_long) -> c_int;
/// `PS_DESTROY_ARGS` and `PS_VALIDATE_SID_ARGS`: `void **mod_data, zend_string *key`.
pub type KeyFn = unsafe extern "C" fn(*mut *mut c_void, *mut zend_string) -> c_int;
/// `PS_GC_ARGS`: `void **mod_data, zend_long maxlifetime, zend_long *nrdels`, returning `zend_long`.
pub type GcFn = unsafe extern "C" fn(*mut *mut c_void, zend_long, *mut zend_long) -> zend_long;
/// `PS_CREATE_SID_ARGS`: `void **mod_data`, returning a request-memory `zend_string*` or NULL.
pub type CreateSidFn = unsafe extern "C" fn(*mut *mut c_void) -> *mut zend_string;

/// `ps_module` (php_session.h, PHP 8.2; session API 20161017).
#[repr(C)]
pub struct PsModule {
    /// `s_name`: the `session.save_handler` value that selects this module.
    pub name: *const c_char,
    pub open: Option<OpenFn>,
    pub close: Option<CloseFn>,
    pub read: Option<ReadFn>,
    pub write: Option<WriteFn>,
    pub destroy: Option<KeyFn>,
    pub gc: Option<GcFn>,
    pub create_sid: Option<CreateSidFn>,
    pub validate_sid: Option<KeyFn>,
    pub update_timestamp: Option<WriteFn>,
}

// The layout PHP 8.2 compiled against: a name pointer and nine function pointers, 80 bytes on
// 64-bit targets. `Option<fn>` is guaranteed to be a nullable pointer.
const _: () = {
    let p = size_of::<*const c_void>();
    assert!(size_of::<PsModule>() == 10 * p);
    assert!(offset_of!(PsModule, name) == 0);
    assert!(offset_of!(PsModule, open) == p);
    assert!(offset_of!(PsModule, close) == 2 * p);
    assert!(offset_of!(PsModule, read) == 3 * p);
    assert!(offset_of!(PsModule, write) == 4 * p);
    assert!(offset_of!(PsModule, destroy) == 5 * p);
    assert!(offset_of!(PsModule, gc) == 6 * p);
    assert!(offset_of!(PsModule, create_sid) == 7 * p);
    assert!(offset_of!(PsModule, validate_sid) == 8 * p);
    assert!(offset_of!(PsModule, update_timestamp) == 9 * p);
    assert!(size_of::<Option<OpenFn>>() == p);
};
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<PsModule>() == 80);

/// A `ps_module` that can live in a `static`: PHP keeps the pointer for the life of the process.
#[repr(transparent)]
pub struct StaticPsModule(pub PsModule);

// SAFETY: the table is immutable; its name points at a `'static` C string literal and its function
// pointers are plain functions. PHP only reads through it.
unsafe impl Sync for StaticPsModule {}

/// `zend_module_dep` entries that can live in a `static` (PHP reads `deps` at module load).
#[repr(transparent)]
pub struct ModuleDeps<const N: usize>(pub [_zend_module_dep; N]);

// SAFETY: immutable; every pointer is a `'static` C string literal or NULL.
unsafe impl<const N: usize> Sync for ModuleDeps<N> {}

impl<const N: usize> ModuleDeps<N> {
    /// The table's address for `zend_module_entry.deps`.
    pub fn as_ptr(&self) -> *const _zend_module_dep {
        self.0.as_ptr()
    }
}

/// `ZEND_MOD_REQUIRED(name)`.
pub const fn required(name: &'static std::ffi::CStr) -> _zend_module_dep {
    _zend_module_dep {
        name: name.as_ptr(),
        rel: std::ptr::null(),
        version: std::ptr::null(),
        type_: MODULE_DEP_REQUIRED,
    }
}

/// `ZEND_MOD_END`.
pub const fn dep_end() -> _zend_module_dep {
    _zend_module_dep {
        name: std::ptr::null(),
        rel: std::ptr::null(),
        version: std::ptr::null(),
        type_: 0,
    }
}

// Declared here rather than through ext-php-rs's binding allow-list: signatures copied from
// php_session.h and zend_ini.h (PHP 8.2). Debian builds ext/session into the php and php-fpm
// executables, so these resolve at dlopen against the executable.
extern "C" {
    /// `PHPAPI zend_result php_session_register_module(const ps_module *)`.
    pub fn php_session_register_module(module: *const PsModule) -> c_int;
    /// `PHPAPI zend_string *php_session_create_id(void **mod_data)`: PHP's random id, honouring
    /// `session.sid_length` and `session.sid_bits_per_character`.
    pub fn php_session_create_id(mod_data: *mut *mut c_void) -> *mut zend_string;
    /// `ZEND_API zend_long zend_ini_long(const char *name, size_t name_length, int orig)`.
    pub fn zend_ini_long(name: *const c_char, name_length: usize, orig: c_int) -> zend_long;
    /// `ZEND_API char *zend_ini_string_ex(const char *name, size_t name_length, int orig, bool *exists)`.
    pub fn zend_ini_string_ex(
        name: *const c_char,
        name_length: usize,
        orig: c_int,
        exists: *mut bool,
    ) -> *mut c_char;
    /// `ZEND_API void zend_unregister_ini_entries(int module_number)`.
    pub fn zend_unregister_ini_entries(module_number: c_int);
    /// `ZEND_API void display_ini_entries(zend_module_entry *module)`: the INI table of phpinfo.
    pub fn display_ini_entries(module: *mut zend_module_entry);
}
