//! TLS: rustls with the `ring` provider and the platform's certificate verifier, built here
//! and handed to reqwest, so that no process-wide crypto provider is installed or required.

use std::sync::Arc;

use crate::error::{Error, Result};

/// A client TLS configuration offering HTTP/1.1, and HTTP/2 first with the `http2` feature.
pub(crate) fn client_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| {
        Error::config(
            "TLS",
            format!("cannot load the platform's certificate verifier: {e}"),
        )
    })?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config("TLS", format!("no usable TLS protocol version: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = if cfg!(feature = "http2") {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}
