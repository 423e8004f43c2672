//! Signed access tokens: JWTs with EdDSA (Ed25519) signatures, and the key ring that signs
//! them with one key and verifies them with every configured key, so keys rotate without
//! downtime: add the new key first, keep the old one as verify-only until its tokens expire.

use std::{collections::HashMap, path::Path};

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation,
    jwk::{AlgorithmParameters, Jwk},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use uuid::Uuid;

/// The `iss` of every token paylater signs.
pub const ISSUER: &str = "paylater";

/// Key id of the built-in development key.
pub const DEV_KEY_ID: &str = "paylater-dev-1";

/// The built-in development signing key. Anyone can read it here, so production refuses to
/// start without keys of its own.
pub const DEV_PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIONdXI8Oa1krkaU9ZN3RGMzoqN90MLeexZAUibQRs5Sv
-----END PRIVATE KEY-----
";

/// One configured key: a private key signs (the first such key is the signer) and
/// verifies; a public key only verifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// Key id, published in the JWKS and in each token's header.
    pub kid: String,
    /// PEM file of an Ed25519 private key (PKCS#8 v1, as `openssl genpkey -algorithm
    /// ed25519` writes it).
    pub private_key_file: Option<std::path::PathBuf>,
    /// PEM file of an Ed25519 public key (SPKI), for a key that only verifies.
    pub public_key_file: Option<std::path::PathBuf>,
}

/// Why the key ring could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// A key file could not be read.
    #[error("JWT key {kid}: cannot read {path}: {source}")]
    Read {
        /// The key's id.
        kid: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is not an Ed25519 key in PEM.
    #[error("JWT key {0}: not an Ed25519 key in PEM form")]
    Invalid(String),
    /// A key names neither or both files.
    #[error("JWT key {0}: set exactly one of private_key_file and public_key_file")]
    Ambiguous(String),
    /// No key can sign.
    #[error("no JWT key has a private key to sign with")]
    NoSigner,
    /// Two keys share an id.
    #[error("JWT key id {0} is used twice")]
    DuplicateKid(String),
}

/// Why a token was refused. Callers answer all of them the same way; the detail is for logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a well-formed JWT, or its claims have the wrong shape.
    #[error("malformed token")]
    Malformed,
    /// Signed with another algorithm than EdDSA (`none` and HS256 included).
    #[error("unexpected algorithm")]
    Algorithm,
    /// Its `kid` names no configured key.
    #[error("unknown key id")]
    UnknownKey,
    /// The signature, issuer or audience does not check out.
    #[error("invalid signature or claims")]
    Invalid,
    /// Past its `exp`, or issued in the future.
    #[error("expired")]
    Expired,
}

/// The registered claims (RFC 7519 §4.1) every paylater token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// Issuer: paylater.
    pub iss: String,
    /// Audience: who the token is for (merchant API, consumer apps, the MFA step).
    pub aud: String,
    /// Subject: the merchant or consumer id.
    pub sub: Uuid,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: Uuid,
}

impl RegisteredClaims {
    /// Claims for `subject`, issued at `now` for `audience`, valid for `ttl`.
    pub fn new(audience: &str, subject: Uuid, now: DateTime<Utc>, ttl: chrono::Duration) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            sub: subject,
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
            jti: Uuid::now_v7(),
        }
    }
}

/// What a verified token stands for, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<P> {
    /// The principal the token speaks for.
    pub principal: P,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

impl<P> Verified<P> {
    /// The principal of a token whose verified claims are `registered`.
    pub fn new(principal: P, registered: &RegisteredClaims) -> Result<Self, TokenError> {
        let expires_at =
            DateTime::from_timestamp(registered.exp, 0).ok_or(TokenError::Malformed)?;
        Ok(Self {
            principal,
            expires_at,
        })
    }

    /// The same expiry for another view of the principal.
    pub fn map<Q>(self, view: impl FnOnce(P) -> Q) -> Verified<Q> {
        Verified {
            principal: view(self.principal),
            expires_at: self.expires_at,
        }
    }
}

/// A token's claims: the registered ones, plus whatever a kind of token adds.
pub trait Claims: DeserializeOwned {
    /// The registered claims, checked for time by [`KeyRing::verify`].
    fn registered(&self) -> &RegisteredClaims;
}

impl Claims for RegisteredClaims {
    fn registered(&self) -> &RegisteredClaims {
        self
    }
}

struct Verifier {
    key: DecodingKey,
    jwk: Value,
}

/// The signing key and every verifying key, by key id.
pub struct KeyRing {
    signer_kid: String,
    signer: EncodingKey,
    verifiers: HashMap<String, Verifier>,
    /// The JSON Web Key Set, rendered once: the keys never change while running.
    jwks: Value,
}

fn public_x(jwk: &Jwk) -> Option<String> {
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(params) => Some(params.x.clone()),
        _ => None,
    }
}

fn published(kid: &str, x: &str) -> Value {
    json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x })
}

impl KeyRing {
    /// The ring of the built-in development key.
    pub fn development() -> Result<Self, KeyRingError> {
        Self::from_pems(&[(
            DEV_KEY_ID.to_owned(),
            Pem::Private(DEV_PRIVATE_KEY_PEM.into()),
        )])
    }

    /// The ring of the configured keys, read from their files.
    pub fn from_config(keys: &[JwtKeyConfig]) -> Result<Self, KeyRingError> {
        let read = |kid: &str, path: &Path| {
            std::fs::read_to_string(path).map_err(|source| KeyRingError::Read {
                kid: kid.to_owned(),
                path: path.display().to_string(),
                source,
            })
        };
        let pems = keys
            .iter()
            .map(|key| {
                let pem = match (&key.private_key_file, &key.public_key_file) {
                    (Some(path), None) => Pem::Private(read(&key.kid, path)?.into()),
                    (None, Some(path)) => Pem::Public(read(&key.kid, path)?),
                    _ => return Err(KeyRingError::Ambiguous(key.kid.clone())),
                };
                Ok((key.kid.clone(), pem))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_pems(&pems)
    }

    fn from_pems(keys: &[(String, Pem)]) -> Result<Self, KeyRingError> {
        let mut signer = None;
        let mut verifiers = HashMap::new();
        for (kid, pem) in keys {
            let invalid = || KeyRingError::Invalid(kid.clone());
            let jwk = match pem {
                Pem::Private(text) => {
                    let key = EncodingKey::from_ed_pem(text.expose_secret().as_bytes())
                        .map_err(|_| invalid())?;
                    let jwk =
                        Jwk::from_encoding_key(&key, Algorithm::EdDSA).map_err(|_| invalid())?;
                    signer.get_or_insert((kid.clone(), key));
                    jwk
                }
                Pem::Public(text) => {
                    let key = DecodingKey::from_ed_pem(text.as_bytes()).map_err(|_| invalid())?;
                    Jwk::from_decoding_key(&key, Some(Algorithm::EdDSA)).map_err(|_| invalid())?
                }
            };
            let x = public_x(&jwk).ok_or_else(invalid)?;
            let key = DecodingKey::from_ed_components(&x).map_err(|_| invalid())?;
            let verifier = Verifier {
                key,
                jwk: published(kid, &x),
            };
            if verifiers.insert(kid.clone(), verifier).is_some() {
                return Err(KeyRingError::DuplicateKid(kid.clone()));
            }
        }
        let (signer_kid, signer) = signer.ok_or(KeyRingError::NoSigner)?;
        let mut kids: Vec<&String> = verifiers.keys().collect();
        kids.sort();
        let keys: Vec<&Value> = kids.iter().map(|kid| &verifiers[*kid].jwk).collect();
        let jwks = json!({ "keys": keys });
        Ok(Self {
            signer_kid,
            signer,
            verifiers,
            jwks,
        })
    }

    /// The id of the key that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        &self.signer_kid
    }

    /// Signs `claims` with the signing key, naming it in the `kid` header.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signer_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signer)
    }

    /// Verifies a token for `audience` at `now`: EdDSA only, a known `kid`, a valid
    /// signature, our issuer, the audience, and `iat <= now < exp`.
    pub fn verify<C: Claims>(
        &self,
        token: &str,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<C, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let verifier = self.verifiers.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Time is checked below against the application's clock.
        validation.validate_exp = false;
        let claims: C = jsonwebtoken::decode(token, &verifier.key, &validation)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => TokenError::Malformed,
                _ => TokenError::Invalid,
            })?
            .claims;
        let now = now.timestamp();
        let registered = claims.registered();
        if registered.exp <= now || registered.iat > now + 60 {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The public keys as a JSON Web Key Set, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// Whether the built-in development key is in the ring.
    pub fn has_development_key(&self) -> bool {
        let dev = Self::development().ok();
        let dev_x = dev
            .as_ref()
            .and_then(|ring| ring.verifiers.get(DEV_KEY_ID))
            .map(|v| &v.jwk["x"]);
        self.verifiers
            .values()
            .any(|verifier| Some(&verifier.jwk["x"]) == dev_x)
    }
}

/// A key file's text. A private key's is secret: never printed, and wiped when dropped.
enum Pem {
    Private(SecretString),
    Public(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, private: Option<&str>, public: Option<&str>) -> JwtKeyConfig {
        JwtKeyConfig {
            kid: kid.to_owned(),
            private_key_file: private.map(Into::into),
            public_key_file: public.map(Into::into),
        }
    }

    #[test]
    fn badly_configured_rings_are_refused_with_the_key_named() {
        let dir = std::env::temp_dir().join(format!("paylater-jwt-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let private = dir.join("k.pem");
        std::fs::write(&private, DEV_PRIVATE_KEY_PEM).unwrap();
        let garbage = dir.join("g.pem");
        std::fs::write(&garbage, "not a key").unwrap();
        let p = private.to_str().unwrap();

        let both = KeyRing::from_config(&[key("a", Some(p), Some(p))]);
        assert!(matches!(both, Err(KeyRingError::Ambiguous(kid)) if kid == "a"));
        let twice = KeyRing::from_config(&[key("a", Some(p), None), key("a", Some(p), None)]);
        assert!(matches!(twice, Err(KeyRingError::DuplicateKid(_))));
        let invalid = KeyRing::from_config(&[key("g", Some(garbage.to_str().unwrap()), None)]);
        assert!(matches!(invalid, Err(KeyRingError::Invalid(kid)) if kid == "g"));
        let missing = KeyRing::from_config(&[key("m", Some("/nonexistent.pem"), None)]);
        assert!(matches!(missing, Err(KeyRingError::Read { .. })));
        assert!(matches!(
            KeyRing::from_config(&[]),
            Err(KeyRingError::NoSigner)
        ));

        let ring = KeyRing::from_config(&[key("k", Some(p), None)]).unwrap();
        assert_eq!(ring.signing_kid(), "k");
        assert!(
            ring.has_development_key(),
            "the dev key under another name is still the dev key"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
