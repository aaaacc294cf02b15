//! What a Rust user does with a PHP-serialized payload, once per crate that can do it: the typed
//! structs the benchmark payloads fit, and one function per (path, crate) that decodes (or
//! encodes) and returns a number derived from the result, so nothing can be optimised away.
//!
//! Used by `benches/peers.rs` (criterion, wall-clock) and `src/bin/peer_loop.rs` (instruction
//! counts under callgrind). Peers are asked through their documented entry points only.

use serde::Deserialize;

/// The five payloads of `bench/payloads.php`.
pub const PAYLOADS: [&str; 5] = ["laravel", "cart", "large", "objects", "refs"];

/// A Laravel session's attributes. Generic over the string type: `String` (owned) or `&str`
/// (borrowed from the input).
#[derive(Deserialize)]
pub struct Laravel<S> {
    pub _token: S,
    pub _previous: Previous<S>,
    pub _flash: Flash<S>,
    #[serde(rename = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d")]
    pub login: i64,
    pub locale: S,
}

#[derive(Deserialize)]
pub struct Previous<S> {
    pub url: S,
}

#[derive(Deserialize)]
pub struct Flash<S> {
    pub old: Vec<S>,
    pub new: Vec<S>,
}

/// `cart.ser`: the session with its shopping cart.
#[derive(Deserialize)]
pub struct CartSession<S> {
    pub _token: S,
    pub cart: Cart<S>,
    #[serde(rename = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d")]
    pub login: i64,
}

#[derive(Deserialize)]
pub struct Cart<S> {
    pub id: S,
    pub currency: S,
    pub items: Vec<Item<S>>,
    pub saved_for_later: Vec<SavedItem<S>>,
    pub coupon: Coupon<S>,
    pub shipping: Shipping<S>,
    pub totals: Totals,
}

#[derive(Deserialize)]
pub struct Item<S> {
    pub id: i64,
    pub product_id: i64,
    pub sku: S,
    pub name: S,
    pub quantity: i64,
    pub unit_price: f64,
    pub line_total: f64,
    pub tax_rate: f64,
    pub discount: Option<f64>,
    pub options: Options<S>,
    pub added_at: i64,
}

#[derive(Deserialize)]
pub struct Options<S> {
    pub color: S,
    pub size: S,
    pub gift_wrap: bool,
    pub engraving: Option<Engraving<S>>,
}

#[derive(Deserialize)]
pub struct Engraving<S> {
    pub text: S,
    pub font: S,
    pub lines: i64,
}

/// A `CartItem` object. phpsess gives protected and private properties by their plain names;
/// the aliases are the mangled names (`\0*\0name`, `\0Class\0name`) other crates hand over.
#[derive(Deserialize)]
pub struct SavedItem<S> {
    pub quantity: i64,
    #[serde(rename = "unitPrice", alias = "\0*\0unitPrice")]
    pub unit_price: Money<S>,
    #[serde(alias = "\0App\\Cart\\CartItem\0options")]
    pub options: SavedOptions<S>,
    #[serde(rename = "productId")]
    pub product_id: i64,
    pub sku: S,
    pub name: S,
}

#[derive(Deserialize)]
pub struct Money<S> {
    #[serde(alias = "\0App\\Cart\\Money\0amount")]
    pub amount: i64,
    #[serde(alias = "\0App\\Cart\\Money\0currency")]
    pub currency: S,
}

#[derive(Deserialize)]
pub struct SavedOptions<S> {
    pub color: S,
    pub size: S,
}

#[derive(Deserialize)]
pub struct Coupon<S> {
    pub code: S,
    pub percent: i64,
    pub expires: i64,
}

#[derive(Deserialize)]
pub struct Shipping<S> {
    pub method: S,
    pub cost: f64,
    pub address: Address<S>,
}

#[derive(Deserialize)]
pub struct Address<S> {
    pub name: S,
    pub street: S,
    pub city: S,
    pub zip: S,
    pub country: S,
}

#[derive(Deserialize)]
pub struct Totals {
    pub subtotal: f64,
    pub tax: f64,
    pub grand_total: f64,
}

/// `objects.ser`.
#[derive(Deserialize)]
pub struct Objects<S> {
    pub _token: S,
    pub saved_items: Vec<SavedItem<S>>,
}

/// A number from a typed result, so the work cannot be skipped.
pub trait Digest {
    fn digest(&self) -> usize;
}

impl<S: AsRef<str>> Digest for Laravel<S> {
    fn digest(&self) -> usize {
        self._token.as_ref().len() + self._previous.url.as_ref().len() + self.login as usize
    }
}

impl<S: AsRef<str>> Digest for CartSession<S> {
    fn digest(&self) -> usize {
        self.cart.items.len() + self.cart.saved_for_later.len() + self._token.as_ref().len()
    }
}

impl<S: AsRef<str>> Digest for Objects<S> {
    fn digest(&self) -> usize {
        self.saved_items.len() + self._token.as_ref().len()
    }
}

/// One way to read or write a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// serde into the payload's struct with `String` fields.
    TypedOwned,
    /// serde into the payload's struct with `&str` fields.
    TypedBorrowed,
    /// A tree of the whole value (owned where the crate has one, else its borrowed tree).
    Tree,
    /// phpsess's `Document::parse` (peers: their fastest complete decode, the tree).
    Document,
    /// Encode a decoded tree back to bytes.
    Encode,
}

impl Path {
    pub const ALL: [Path; 5] = [
        Path::TypedOwned,
        Path::TypedBorrowed,
        Path::Tree,
        Path::Document,
        Path::Encode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Path::TypedOwned => "typed_owned",
            Path::TypedBorrowed => "typed_borrowed",
            Path::Tree => "tree",
            Path::Document => "document",
            Path::Encode => "encode",
        }
    }

    pub fn parse(name: &str) -> Option<Path> {
        Path::ALL.into_iter().find(|p| p.name() == name)
    }
}

pub const CRATES: [&str; 6] = [
    "phpsess",
    "phpserz",
    "php_serde",
    "serde_php",
    "muesli",
    "php-deserialize-core",
];

/// Prepared input for one (crate, path, payload): the bytes, and for encoding the decoded tree.
pub enum Prepared<'a> {
    Bytes(&'a [u8]),
    PhpsessValue(phpsess::Value),
    MuesliValue(muesli::Value<'a>),
}

/// Get ready to run `krate`'s `path` on `payload`'s bytes; `None` if the crate has no such path
/// or cannot read this payload (checked once here, so a benchmark never times an error).
pub fn prepare<'a>(
    krate: &str,
    path: Path,
    payload: &str,
    bytes: &'a [u8],
) -> Option<Prepared<'a>> {
    let prepared = match (krate, path) {
        ("phpsess", Path::Encode) => Prepared::PhpsessValue(phpsess::unserialize(bytes).ok()?),
        ("muesli", Path::Encode) => Prepared::MuesliValue(muesli::unserialize(bytes).ok()?),
        (_, Path::Encode) => return None,
        _ => Prepared::Bytes(bytes),
    };
    run(krate, path, payload, &prepared).map(|_| prepared)
}

/// Run once: `None` when the crate cannot do it (no such path, or an error on this payload).
pub fn run(krate: &str, path: Path, payload: &str, input: &Prepared<'_>) -> Option<usize> {
    match input {
        Prepared::PhpsessValue(v) => Some(phpsess::serialize(v).len()),
        Prepared::MuesliValue(v) => {
            let mut out = Vec::new();
            muesli::serialize(&mut out, v).ok()?;
            Some(out.len())
        }
        Prepared::Bytes(bytes) => decode(krate, path, payload, bytes),
    }
}

fn decode(krate: &str, path: Path, payload: &str, bytes: &[u8]) -> Option<usize> {
    match (krate, path) {
        ("phpsess", Path::TypedOwned) => typed_phpsess::<String>(payload, bytes),
        ("phpsess", Path::TypedBorrowed) => typed_phpsess::<&str>(payload, bytes),
        ("phpserz", Path::TypedOwned) => typed_phpserz::<String>(payload, bytes),
        ("phpserz", Path::TypedBorrowed) => typed_phpserz::<&str>(payload, bytes),
        ("php_serde", Path::TypedOwned) => typed_php_serde::<String>(payload, bytes),
        ("php_serde", Path::TypedBorrowed) => typed_php_serde::<&str>(payload, bytes),
        ("serde_php", Path::TypedOwned) => typed_serde_php::<String>(payload, bytes),
        ("serde_php", Path::TypedBorrowed) => typed_serde_php::<&str>(payload, bytes),
        ("phpsess", Path::Tree) => phpsess::unserialize(bytes)
            .ok()
            .map(|v| v.as_array().map_or(1, |a| a.len())),
        ("phpsess", Path::Document) => phpsess::Document::parse(bytes)
            .ok()
            .map(|d| d.root().entries().map_or(1, |e| e.len())),
        ("muesli", Path::Tree | Path::Document) => {
            muesli::unserialize(bytes).ok().map(|v| match v {
                muesli::Value::Array(a) => a.len(),
                _ => 1,
            })
        }
        ("php-deserialize-core", Path::Tree | Path::Document) => {
            php_deserialize_core::from_bytes(bytes)
                .ok()
                .map(|v| std::mem::size_of_val(&v))
        }
        _ => None,
    }
}

/// One typed decode per crate whose entry point is `from_bytes::<T>(&[u8])`.
macro_rules! typed_from_bytes {
    ($name:ident, $($from:ident)::+) => {
        fn $name<'de, S>(payload: &str, bytes: &'de [u8]) -> Option<usize>
        where
            S: Deserialize<'de> + AsRef<str>,
        {
            match payload {
                "laravel" => $($from)::+::<Laravel<S>>(bytes).ok().map(|v| v.digest()),
                "cart" => $($from)::+::<CartSession<S>>(bytes).ok().map(|v| v.digest()),
                "objects" => $($from)::+::<Objects<S>>(bytes).ok().map(|v| v.digest()),
                _ => None,
            }
        }
    };
}

typed_from_bytes!(typed_phpsess, phpsess::php_serde::from_bytes);
typed_from_bytes!(typed_php_serde, php_serde::from_bytes);
typed_from_bytes!(typed_serde_php, serde_php::from_bytes);

fn phpserz_from_bytes<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, phpserz::Error> {
    let mut de = phpserz::PhpDeserializer::new(bytes);
    T::deserialize(&mut de)
}

typed_from_bytes!(typed_phpserz, phpserz_from_bytes);

#[cfg(test)]
mod tests {
    //! What the README says of the peers' validation, checked: inputs PHP 8.2's `unserialize()`
    //! refuses (false with a notice), and which crates take them anyway.

    /// Inputs PHP refuses, each with why.
    const PHP_REFUSES: [(&str, &[u8]); 3] = [
        ("string longer than declared", br#"a:1:{i:0;s:2:"abc";}"#),
        ("bytes after the value", b"i:1;i:2;"),
        ("R: naming no earlier value", b"a:1:{i:0;R:7;}"),
    ];

    #[test]
    fn phpsess_refuses_what_php_refuses() {
        for (why, input) in PHP_REFUSES {
            assert!(phpsess::unserialize(input).is_err(), "{why}");
            assert!(phpsess::Document::parse(input).is_err(), "{why}");
        }
    }

    /// Printed, not asserted: a newer peer version that refuses more must not fail this crate.
    #[test]
    fn which_peers_take_what_php_refuses() {
        for (why, input) in PHP_REFUSES {
            let muesli = muesli::unserialize(input).is_ok();
            let core = php_deserialize_core::from_bytes(input).is_ok();
            let phpserz = {
                let mut de = phpserz::PhpDeserializer::new(input);
                <serde::de::IgnoredAny as serde::Deserialize>::deserialize(&mut de).is_ok()
            };
            println!("{why}: muesli takes it: {muesli}, php-deserialize-core: {core}, phpserz: {phpserz}");
        }
    }
}
