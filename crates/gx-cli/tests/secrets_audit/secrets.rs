//! The secrets of a run, in every form a leak could take, and the search for them.

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};

/// Shortest fragment searched for: long enough that a match cannot be chance.
const MIN_FRAGMENT: usize = 16;

/// Every secret of a run, each under a label saying what it is.
#[derive(Default)]
pub(crate) struct Secrets {
    needles: Vec<(String, String)>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Secrets {
    fn add(&mut self, label: &str, needle: &str) {
        if needle.len() >= MIN_FRAGMENT && !self.needles.iter().any(|(_, n)| n == needle) {
            self.needles.push((label.to_owned(), needle.to_owned()));
        }
    }

    /// Raw secret bytes: hex (both cases) and the four base64 flavours.
    pub(crate) fn add_bytes(&mut self, label: &str, bytes: &[u8]) {
        let h = hex(bytes);
        self.add(&format!("{label} (hex)"), &h);
        self.add(&format!("{label} (HEX)"), &h.to_uppercase());
        for (flavour, text) in [
            ("base64", Base64::encode_string(bytes)),
            ("base64 unpadded", Base64Unpadded::encode_string(bytes)),
            ("base64url", Base64Url::encode_string(bytes)),
            (
                "base64url unpadded",
                Base64UrlUnpadded::encode_string(bytes),
            ),
        ] {
            self.add(&format!("{label} ({flavour})"), &text);
        }
    }

    /// A secret text (an API key, a passphrase, a key file's text).
    pub(crate) fn add_text(&mut self, label: &str, text: &str) {
        self.add(label, text.trim());
    }

    /// A bundle key given as 64 hex characters: the text and the key bytes.
    pub(crate) fn add_hex_key(&mut self, label: &str, hex_text: &str) {
        let hex_text = hex_text.trim();
        self.add_text(label, hex_text);
        let bytes: Vec<u8> = (0..hex_text.len() / 2)
            .map(|i| u8::from_str_radix(&hex_text[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        self.add_bytes(label, &bytes);
    }

    /// A grant token: the whole JWS and its signature segment.
    pub(crate) fn add_token(&mut self, label: &str, jws: &str) {
        self.add_text(&format!("{label} (JWS)"), jws);
        let sig = jws.rsplit('.').next().expect("signature segment");
        self.add_text(&format!("{label} (signature)"), sig);
        let sig_bytes = Base64UrlUnpadded::decode_vec(sig).expect("base64url signature");
        self.add_bytes(&format!("{label} signature"), &sig_bytes);
    }

    /// A PKCS#8 PEM private key: the body, each body line, the DER, and for Ed25519 the
    /// 32-byte seed.
    pub(crate) fn add_pem(&mut self, label: &str, pem: &str) {
        let lines: Vec<&str> = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        let body = lines.concat();
        self.add_text(&format!("{label} (PEM body)"), &body);
        for line in &lines {
            self.add_text(&format!("{label} (PEM line)"), line);
        }
        let der = Base64::decode_vec(&body).expect("PEM body is base64");
        self.add_der(label, &der);
    }

    /// A PKCS#8 DER private key: the whole and its key material. An Ed25519 key's seed is
    /// its last 32 bytes; for RSA, 32-byte windows of the DER's second half (the private
    /// exponent and primes) are searched.
    pub(crate) fn add_der(&mut self, label: &str, der: &[u8]) {
        self.add_bytes(&format!("{label} (DER)"), der);
        if der.len() == 48 {
            self.add_bytes(&format!("{label} seed"), &der[16..]);
        } else {
            for (i, window) in der[der.len() / 2..].chunks(32).enumerate() {
                if window.len() == 32 {
                    self.add_bytes(&format!("{label} DER part {i}"), window);
                }
            }
        }
    }

    /// How many forms are searched for.
    pub(crate) fn len(&self) -> usize {
        self.needles.len()
    }

    /// The label of the first secret found in `text` and where it starts.
    pub(crate) fn find(&self, text: &str) -> Option<(&str, usize)> {
        self.needles
            .iter()
            .find_map(|(label, needle)| text.find(needle.as_str()).map(|at| (label.as_str(), at)))
    }

    /// Panics, naming the secret and the output, if any secret appears in `text`.
    #[track_caller]
    pub(crate) fn assert_absent(&self, what: &str, text: &str) {
        if let Some((label, at)) = self.find(text) {
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            let end = text[at..]
                .char_indices()
                .nth(24)
                .map_or(text.len(), |(i, _)| at + i);
            panic!("{label} leaked into {what}: ...{}...", &text[start..end]);
        }
    }
}

#[test]
fn the_search_finds_every_form() {
    let mut s = Secrets::default();
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    s.add_hex_key("bundle key", key);
    assert_eq!(s.find("nothing to see here 0011223344556677"), None);
    for (leak, label) in [
        (key.to_owned(), "bundle key"),
        (key.to_uppercase(), "bundle key (HEX)"),
        (
            "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=".to_owned(),
            "bundle key (base64)",
        ),
        (
            "ABEiM0RVZneImaq7zN3u_wARIjNEVWZ3iJmqu8zd7v8".to_owned(),
            "bundle key (base64url unpadded)",
        ),
    ] {
        let text = format!("log line: {leak} end");
        assert_eq!(s.find(&text), Some((label, 10)), "{leak}");
    }
}
