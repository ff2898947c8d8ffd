//! Reads an HTTP request body: size limit, decompression and content types.
//!
//! The body is never buffered beyond `server.maxRequestSize`, before or after decompression, so a
//! small compressed body cannot expand into an unbounded one.

use std::io::Read;

use axum::body::Body;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use palisade_api::{ApiError, ErrorId};
use serde_json::{Map, Value, json};

use crate::config::Config;

/// Reads the whole body, rejecting it with 413 as soon as it passes `limit` bytes.
pub async fn read_limited(
    body: Body,
    declared_length: Option<u64>,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(error) => Err(ApiError::new(
            ErrorId::NetworkHttpUnexpectedError,
            format!("Cannot read the request body: {error}."),
        )),
    }
}

/// Removes the `Content-Encoding` layers, last applied first.
pub fn decode(
    bytes: Bytes,
    content_encoding: Option<&str>,
    config: &Config,
) -> Result<Bytes, ApiError> {
    let Some(header) = content_encoding else {
        return Ok(bytes);
    };
    let layers: Vec<String> = header
        .split(',')
        .map(|layer| layer.trim().to_ascii_lowercase())
        .filter(|layer| !layer.is_empty() && layer != "identity")
        .collect();
    if layers.is_empty() {
        return Ok(bytes);
    }
    if !config.http.allow_compression {
        return Err(ApiError::new(
            ErrorId::NetworkHttpCompressionDisabled,
            "Compressed request bodies are disabled (http.allowCompression): send the body \
             uncompressed.",
        ));
    }
    if layers.len() > config.http.max_encoding_layers {
        return Err(ApiError::new(
            ErrorId::NetworkHttpTooManyEncodings,
            format!(
                "The request body has {} encoding layers, more than http.maxEncodingLayers ({}).",
                layers.len(),
                config.http.max_encoding_layers
            ),
        ));
    }

    let limit = config.server.max_request_size.as_usize();
    let mut current = bytes;
    for layer in layers.iter().rev() {
        current = inflate(&current, layer, limit)?;
    }
    Ok(current)
}

fn inflate(input: &[u8], encoding: &str, limit: usize) -> Result<Bytes, ApiError> {
    let mut output = Vec::new();
    let cap = limit as u64 + 1;
    let result = match encoding {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(input)
            .take(cap)
            .read_to_end(&mut output),
        "deflate" => {
            // HTTP's `deflate` is zlib-wrapped, but some clients send raw deflate data.
            let zlib = flate2::read::ZlibDecoder::new(input)
                .take(cap)
                .read_to_end(&mut output);
            match zlib {
                Ok(n) => Ok(n),
                Err(_) => {
                    output.clear();
                    flate2::read::DeflateDecoder::new(input)
                        .take(cap)
                        .read_to_end(&mut output)
                }
            }
        }
        other => {
            return Err(ApiError::new(
                ErrorId::NetworkHttpUnsupportedCompression,
                format!("Unsupported Content-Encoding \"{other}\": use gzip, deflate or identity."),
            )
            .with_props([other]));
        }
    };

    result.map_err(|error| {
        ApiError::new(
            ErrorId::NetworkHttpBodyParseFailed,
            format!("Cannot decompress the {encoding} request body: {error}."),
        )
    })?;
    if output.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Bytes::from(output))
}

/// Parses a decoded body according to its `Content-Type`. An empty body is no body.
pub async fn parse(
    bytes: Bytes,
    content_type: Option<&str>,
    config: &Config,
) -> Result<Option<Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let content_type = content_type.unwrap_or("application/json");
    let mut parts = content_type.split(';').map(str::trim);
    let mime = parts.next().unwrap_or_default().to_ascii_lowercase();
    check_charset(parts.clone())?;

    match mime.as_str() {
        "application/json" => parse_json(&bytes).map(Some),
        "application/x-www-form-urlencoded" => Ok(Some(Value::Object(parse_form(&bytes)))),
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type).map_err(|_| {
                ApiError::new(
                    ErrorId::NetworkHttpBodyParseFailed,
                    "The multipart/form-data body has no boundary in its Content-Type.",
                )
            })?;
            parse_multipart(bytes, boundary, config).await.map(Some)
        }
        other => Err(ApiError::new(
            ErrorId::NetworkHttpUnsupportedContent,
            format!(
                "Unsupported Content-Type \"{other}\": send application/json, \
                 application/x-www-form-urlencoded or multipart/form-data."
            ),
        )
        .with_props([other])),
    }
}

fn check_charset<'a>(params: impl Iterator<Item = &'a str>) -> Result<(), ApiError> {
    for param in params {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let charset = value.trim().trim_matches('"').to_ascii_lowercase();
            if charset != "utf-8" && charset != "utf8" {
                return Err(ApiError::new(
                    ErrorId::NetworkHttpUnsupportedCharset,
                    format!("Unsupported charset \"{charset}\": send the body in UTF-8."),
                )
                .with_props([charset]));
            }
        }
    }
    Ok(())
}

/// Parses a JSON body; the error names the position of the fault.
pub(super) fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        ApiError::new(
            ErrorId::NetworkHttpBodyParseFailed,
            format!(
                "The request body is not valid JSON ({error}): fix the JSON or the Content-Type."
            ),
        )
    })
}

/// Parses `a=1&b=2&b=3` into `{"a": "1", "b": ["2", "3"]}`, as Node's querystring does.
pub fn parse_form(bytes: &[u8]) -> Map<String, Value> {
    let mut object = Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        let value = Value::String(value.into_owned());
        match object.get_mut(key.as_ref()) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.take(), value]),
            None => {
                object.insert(key.into_owned(), value);
            }
        }
    }
    object
}

async fn parse_multipart(
    bytes: Bytes,
    boundary: String,
    config: &Config,
) -> Result<Value, ApiError> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let max_file = config.http.max_form_file_size.as_usize();
    let failed = |error: multer::Error| {
        ApiError::new(
            ErrorId::NetworkHttpBodyParseFailed,
            format!("Cannot parse the multipart/form-data body: {error}."),
        )
    };

    let mut object = Map::new();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mime = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(failed)?;

        let value = match file_name {
            Some(file_name) => {
                if data.len() > max_file {
                    return Err(ApiError::new(
                        ErrorId::NetworkHttpFileTooLarge,
                        format!(
                            "File \"{file_name}\" is larger than http.maxFormFileSize ({}).",
                            config.http.max_form_file_size
                        ),
                    ));
                }
                json!({
                    "filename": file_name,
                    "encoding": "base64",
                    "mimetype": mime,
                    "file": base64::engine::general_purpose::STANDARD.encode(&data),
                })
            }
            None => Value::String(String::from_utf8_lossy(&data).into_owned()),
        };
        object.insert(name, value);
    }
    Ok(Value::Object(object))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorId::NetworkHttpRequestTooLarge,
        format!(
            "The request is larger than server.maxRequestSize ({limit} bytes): send less data per request."
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    #[test]
    fn gzip_layers_decode() {
        let config = Config::default();
        let twice = gzip(&gzip(b"{\"a\":1}"));
        let decoded = decode(twice, Some("gzip, gzip"), &config).unwrap();
        assert_eq!(&decoded[..], b"{\"a\":1}");
    }

    #[test]
    fn too_many_layers_rejected() {
        let config = Config::default();
        let error = decode(Bytes::new(), Some("gzip,gzip,gzip,gzip"), &config).unwrap_err();
        assert_eq!(error.id(), ErrorId::NetworkHttpTooManyEncodings);
    }

    #[test]
    fn decompression_bomb_stops_at_limit() {
        let mut config = Config::default();
        config.server.max_request_size = "1KB".parse().unwrap();
        let bomb = gzip(&vec![b' '; 1 << 20]);
        let error = decode(bomb, Some("gzip"), &config).unwrap_err();
        assert_eq!(error.id(), ErrorId::NetworkHttpRequestTooLarge);
    }

    #[test]
    fn unknown_encoding_named() {
        let error = decode(Bytes::from_static(b"x"), Some("br"), &Config::default()).unwrap_err();
        assert_eq!(error.id(), ErrorId::NetworkHttpUnsupportedCompression);
        assert!(error.message().contains("br"));
    }

    #[tokio::test]
    async fn content_types_parse() {
        let config = Config::default();
        let json = parse(
            Bytes::from_static(b"{\"a\":1}"),
            Some("application/json; charset=utf-8"),
            &config,
        );
        assert_eq!(json.await.unwrap().unwrap()["a"], 1);

        let form = parse(
            Bytes::from_static(b"a=1&b=2&b=3"),
            Some("application/x-www-form-urlencoded"),
            &config,
        );
        assert_eq!(
            form.await.unwrap().unwrap(),
            json!({"a": "1", "b": ["2", "3"]})
        );

        let latin = parse(
            Bytes::from_static(b"{}"),
            Some("application/json; charset=latin1"),
            &config,
        );
        assert_eq!(
            latin.await.unwrap_err().id(),
            ErrorId::NetworkHttpUnsupportedCharset
        );

        let xml = parse(Bytes::from_static(b"<a/>"), Some("text/xml"), &config);
        assert_eq!(
            xml.await.unwrap_err().id(),
            ErrorId::NetworkHttpUnsupportedContent
        );

        let broken = parse(Bytes::from_static(b"{"), None, &config);
        assert_eq!(
            broken.await.unwrap_err().id(),
            ErrorId::NetworkHttpBodyParseFailed
        );
    }

    #[tokio::test]
    async fn multipart_files_become_base64() {
        let config = Config::default();
        let body = "--X\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n\
                    --X\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nabc\r\n--X--\r\n";
        let parsed = parse(
            Bytes::from(body),
            Some("multipart/form-data; boundary=X"),
            &config,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(parsed["title"], "hello");
        assert_eq!(parsed["doc"]["filename"], "a.txt");
        assert_eq!(parsed["doc"]["file"], "YWJj");
    }
}
