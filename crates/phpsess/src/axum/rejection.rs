//! [`SessionRejection`]: why an extractor found no session, as a response that says no more than
//! the client needs (no key, no host, no Redis error text; those stay in [`SessionRejection::reason`]
//! for the service's own logs).

use axum_core::response::{IntoResponse, Response};
use http::StatusCode;

/// What kind of failure a rejection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No session cookie in the request.
    MissingCookie,
    /// A cookie that is not a session of this app: garbage, truncated, tampered, wrong key, an
    /// id with characters no session id has.
    InvalidCookie,
    /// A well-formed cookie whose session does not exist (expired, destroyed).
    UnknownSession,
    /// The stored session does not decode (it was written by something else).
    UnreadableSession,
    /// Redis did not answer as it should (down, timeout, lock not obtained in time).
    StoreUnavailable,
    /// The service is set up wrong: no [`super::SessionLayer`] around a route using a write-back
    /// extractor, or no store of the session's kind in the [`super::SessionConfig`].
    Misconfigured,
}

/// The rejection of every extractor in [`crate::axum`]. As a response: the configured status
/// (401 by default, [`super::SessionConfig::with_rejection_status`]) for the first four kinds,
/// 503 when Redis failed, 500 when the service is set up wrong; the body is a short fixed text.
#[derive(Debug)]
pub struct SessionRejection {
    kind: RejectionKind,
    status: StatusCode,
    reason: String,
}

impl SessionRejection {
    pub(crate) fn new(kind: RejectionKind, status: StatusCode, reason: impl Into<String>) -> Self {
        SessionRejection {
            kind,
            status,
            reason: reason.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The status the response carries.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Why, for the service's logs: the library's error message (host, redacted key, Redis's
    /// words; never a whole session id, a password or a key). Not sent to the client.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn body(&self) -> &'static str {
        match self.kind {
            RejectionKind::MissingCookie
            | RejectionKind::InvalidCookie
            | RejectionKind::UnknownSession
            | RejectionKind::UnreadableSession => "no valid session\n",
            RejectionKind::StoreUnavailable => "session store unavailable\n",
            RejectionKind::Misconfigured => "session support is not configured\n",
        }
    }
}

impl std::fmt::Display for SessionRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.reason)
    }
}

impl std::error::Error for SessionRejection {}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        (self.status, self.body()).into_response()
    }
}
