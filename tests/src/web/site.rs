//! `Site`: several php-fpm pools (the "web servers") behind one nginx, round-robin — the shape of
//! a PHP application scaled horizontally, on loopback.

use super::fpm::FpmPool;
use super::http::{HttpClient, Response};
use super::nginx::Nginx;

/// nginx in front of `pools`; everything stops on drop (nginx first).
pub struct Site {
    /// The load balancer.
    pub nginx: Nginx,
    /// The web servers, in upstream order.
    pub pools: Vec<FpmPool>,
}

impl Site {
    /// Starts nginx over already started pools.
    pub fn start(pools: Vec<FpmPool>) -> Site {
        let mut builder = Nginx::builder();
        for pool in &pools {
            builder = builder.upstream(pool.addr());
        }
        Site {
            nginx: builder.start(),
            pools,
        }
    }

    /// A new client (empty cookie jar) for the site.
    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.nginx.addr())
    }

    /// What PHP logged in every pool, for messages.
    pub fn php_errors(&self) -> String {
        self.pools
            .iter()
            .map(|p| format!("--- {} ---\n{}", p.name(), p.php_errors()))
            .collect()
    }

    /// The JSON of a test app's response, after checking HTTP 200, a started session
    /// (`"ok": true`) and no PHP warnings (`"errors": []`); panics naming `what` otherwise.
    pub fn ok_json(&self, what: &str, response: std::io::Result<Response>) -> serde_json::Value {
        let response = response.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            response.status,
            200,
            "{what}: {}\n{}",
            response.text(),
            self.php_errors()
        );
        let json = response.json();
        assert_eq!(
            json["ok"],
            serde_json::json!(true),
            "{what}: session_start() failed: {json}"
        );
        assert_eq!(
            json["errors"],
            serde_json::json!([]),
            "{what}: warnings: {json}"
        );
        json
    }
}
