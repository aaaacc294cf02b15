//! `HttpClient`: a small HTTP/1.1 client for tests and the load generator — one kept-alive
//! connection, a cookie jar (name → value, as a browser keeps a session cookie), GET and
//! form POST, bodies by `Content-Length`, chunked encoding or connection close.
//!
//! It speaks just enough HTTP for nginx in front of PHP; it is not a general client (no TLS,
//! no redirects, no cookie domains or paths: every cookie is sent back to the one server).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Default time limit for connecting and for each read or write.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest header block or chunk-size line accepted (a guard against a broken peer).
const MAX_LINE: usize = 64 * 1024;

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The decoded body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the status and body if it is not JSON (a PHP fatal
    /// error page, say), which is the message a failing test needs.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}): HTTP {}\n{}",
                self.status,
                self.text()
            )
        })
    }
}

/// A client for one server with a cookie jar; reuses its connection while the server keeps it.
#[derive(Debug)]
pub struct HttpClient {
    addr: String,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
    cookies: Vec<(String, String)>,
    connects: u64,
}

impl HttpClient {
    /// A client for `addr` ("127.0.0.1:PORT") with an empty cookie jar.
    pub fn new(addr: impl Into<String>) -> HttpClient {
        HttpClient {
            addr: addr.into(),
            timeout: DEFAULT_TIMEOUT,
            conn: None,
            cookies: Vec::new(),
            connects: 0,
        }
    }

    /// Changes the connect/read/write time limit.
    pub fn timeout(mut self, timeout: Duration) -> HttpClient {
        self.timeout = timeout;
        self
    }

    /// The cookie called `name`, if the jar has it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Puts a cookie in the jar (replacing one of the same name).
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(k, _)| k != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    /// Empties the jar.
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// How many TCP connections this client has opened.
    pub fn connects(&self) -> u64 {
        self.connects
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST path` with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> io::Result<Response> {
        let body = form_encode(fields);
        self.request(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
    }

    /// Sends one request and reads its response; stores the cookies it sets.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> io::Result<Response> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: phpsess-compat\r\n",
            self.addr
        );
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        let mut request = head.into_bytes();
        if let Some((content_type, bytes)) = body {
            request.extend_from_slice(
                format!(
                    "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                )
                .as_bytes(),
            );
            request.extend_from_slice(bytes);
        } else {
            request.extend_from_slice(b"\r\n");
        }
        let result = self.exchange(&request);
        if result.is_err() {
            // The connection is in an unknown state; the next request opens a new one.
            self.conn = None;
        }
        let (response, keep) = result?;
        if !keep {
            self.conn = None;
        }
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                self.store_cookie(value);
            }
        }
        Ok(response)
    }

    fn connection(&mut self) -> io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let addr = self.addr.parse().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{:?}: {e}", self.addr))
            })?;
            let stream = TcpStream::connect_timeout(&addr, self.timeout)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(self.timeout))?;
            stream.set_write_timeout(Some(self.timeout))?;
            self.connects += 1;
            self.conn = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        // Invariant: set just above when it was None.
        Ok(self.conn.as_mut().expect("connection just opened"))
    }

    /// Writes the request, reads the response; the bool says whether the connection stays usable.
    fn exchange(&mut self, request: &[u8]) -> io::Result<(Response, bool)> {
        let conn = self.connection()?;
        conn.get_mut().write_all(request)?;
        read_response(conn)
    }

    fn store_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let expired = parts.any(|attr| {
            let attr = attr.trim().to_ascii_lowercase();
            attr == "max-age=0" || attr.starts_with("max-age=-") || attr.contains("1970")
        });
        if expired || value == "deleted" {
            self.cookies.retain(|(k, _)| k != name);
        } else {
            self.set_cookie(name, value);
        }
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn read_line(conn: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = Vec::new();
    let n = conn
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a complete response",
        ));
    }
    if !line.ends_with(b"\n") {
        return Err(invalid(format!("line longer than {MAX_LINE} bytes")));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|e| invalid(format!("header line is not UTF-8: {e}")))
}

/// Reads one response; the bool says whether the server keeps the connection open.
fn read_response(conn: &mut BufReader<TcpStream>) -> io::Result<(Response, bool)> {
    let status_line = read_line(conn)?;
    let mut words = status_line.splitn(3, ' ');
    let version = words.next().unwrap_or_default();
    let status: u16 = words
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(conn)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut keep = match find("connection").as_deref() {
        Some("close") => false,
        Some("keep-alive") => true,
        _ => version == "HTTP/1.1",
    };
    let chunked = find("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length = find("content-length");
    let mut body = Vec::new();
    if chunked {
        loop {
            let size_line = read_line(conn)?;
            let size_text = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|e| invalid(format!("bad chunk size {size_line:?}: {e}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                while !read_line(conn)?.is_empty() {}
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            if !read_line(conn)?.is_empty() {
                return Err(invalid("chunk not followed by CRLF".to_owned()));
            }
        }
    } else if let Some(length) = length {
        let n: usize = length
            .parse()
            .map_err(|e| invalid(format!("bad Content-Length {length:?}: {e}")))?;
        body.resize(n, 0);
        conn.read_exact(&mut body)?;
    } else if status != 204 && status != 304 {
        conn.read_to_end(&mut body)?;
        keep = false;
    }
    Ok((
        Response {
            status,
            headers,
            body,
        },
        keep,
    ))
}

/// `application/x-www-form-urlencoded` encoding of `fields`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for query strings and forms.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` with the values URL-encoded.
pub fn with_query(path: &str, fields: &[(&str, &str)]) -> String {
    if fields.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", form_encode(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            url_encode("tcp://127.0.0.1:6379?auth=p w&x=1"),
            "tcp%3A%2F%2F127.0.0.1%3A6379%3Fauth%3Dp%20w%26x%3D1"
        );
        assert_eq!(form_encode(&[("a b", "1"), ("c", "")]), "a%20b=1&c=");
        assert_eq!(with_query("/x.php", &[]), "/x.php");
        assert_eq!(with_query("/x.php", &[("k", "v/")]), "/x.php?k=v%2F");
    }
}
