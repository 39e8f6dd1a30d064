//! Reading HTTP/1.1 responses off a socket, shared by the load generator (which only needs to
//! find where each response ends) and the gateway's upstream client (which keeps the headers
//! and the body): a reusable buffer, `httparse` heads, and Content-Length, chunked and
//! read-until-close bodies (RFC 9112 section 6.3).

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use std::io;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Initial size of each connection's read buffer: the same as wrk's, large enough for any
/// ordinary response head and a useful chunk of body per read.
pub(super) const READ_BUFFER: usize = 8 * 1024;

/// The buffer only grows past [`READ_BUFFER`] to hold one response head; a head larger than
/// this is treated as a broken response rather than an invitation to allocate without bound.
const MAX_HEAD: usize = 1024 * 1024;

/// Header slots for `httparse`. Responses with more headers are rejected as invalid.
const MAX_HEADERS: usize = 64;

/// The useful facts of a response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub status: u16,
    pub body: BodyKind,
    /// The connection cannot carry another request after this response.
    pub close: bool,
}

/// How the end of a response body is found (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BodyKind {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A reusable receive buffer; `data[start..end]` holds bytes read but not yet consumed.
pub(super) struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    pub(super) fn new() -> ReadBuf {
        ReadBuf {
            data: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
        }
    }

    pub(super) fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.clear();
        }
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Reads more bytes after the pending ones; returns 0 at end of stream. Makes room by moving
    /// pending bytes to the front, then by growing up to [`MAX_HEAD`].
    pub(super) async fn fill(&mut self, stream: &mut TcpStream) -> io::Result<usize> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() < MAX_HEAD {
                self.data.resize((self.data.len() * 2).min(MAX_HEAD), 0);
            } else {
                return Err(invalid_data("response head is larger than 1 MiB"));
            }
        }
        let n = stream.read(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Like [`ReadBuf::fill`], but the end of the stream is an error: the response is cut short.
    pub(super) async fn fill_more(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        match self.fill(stream).await? {
            0 => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response was complete",
            )),
            _ => Ok(()),
        }
    }
}

pub(super) fn invalid_data(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads and parses a response head, skipping interim 1xx responses; with `keep`, also the
/// end-to-end headers of the final response.
pub(super) async fn read_head(
    stream: &mut TcpStream,
    buf: &mut ReadBuf,
    is_head: bool,
    mut keep: Option<&mut HeaderMap>,
) -> io::Result<Head> {
    loop {
        if let Some(map) = keep.as_deref_mut() {
            map.clear();
        }
        if let Some((head, len)) = parse_head_into(buf.pending(), is_head, keep.as_deref_mut())? {
            buf.consume(len);
            if (100..200).contains(&head.status) {
                continue;
            }
            return Ok(head);
        }
        buf.fill_more(stream).await?;
    }
}

/// Parses a complete head at the start of `bytes` into its [`Head`] and length, or `None` if more
/// bytes are needed; with `keep`, also copies the end-to-end headers.
fn parse_head_into(
    bytes: &[u8],
    is_head: bool,
    keep: Option<&mut HeaderMap>,
) -> io::Result<Option<(Head, usize)>> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => {
            let head = head_of(&response, is_head)?;
            if let Some(map) = keep {
                // Headers the message's own `Connection` names are hop-by-hop too.
                let named: Vec<&[u8]> = response
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("connection"))
                    .flat_map(|h| h.value.split(|&b| b == b','))
                    .map(<[u8]>::trim_ascii)
                    .collect();
                let end_to_end = |h: &&httparse::Header<'_>| {
                    !is_hop_by_hop(h.name)
                        && !named
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(h.name.as_bytes()))
                };
                for h in response.headers.iter().filter(end_to_end) {
                    let name = HeaderName::from_bytes(h.name.as_bytes())
                        .map_err(|_| invalid_data("invalid header name"))?;
                    let value = HeaderValue::from_bytes(h.value)
                        .map_err(|_| invalid_data("invalid header value"))?;
                    map.append(name, value);
                }
            }
            Ok(Some((head, len)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(invalid_data("malformed response head")),
    }
}

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the
/// framing headers a proxy recomputes for the body it sends on.
pub(super) fn is_hop_by_hop(name: &str) -> bool {
    const HOP: &[&str] = &[
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    ];
    HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// Decides framing and connection reuse from a parsed head (RFC 9112 sections 6.3 and 9.3).
fn head_of(response: &httparse::Response<'_, '_>, is_head: bool) -> io::Result<Head> {
    let status = response
        .code
        .ok_or_else(|| invalid_data("response without status"))?;
    if status == 101 {
        return Err(invalid_data("unexpected protocol switch"));
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut close = false;
    let mut keep_alive = false;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(header.value)?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid_data("conflicting content-length headers"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            // Only a final `chunked` coding frames the body; anything else runs to the close.
            chunked = last_token(header.value).eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let body = if is_head || (100..200).contains(&status) || status == 204 || status == 304 {
        BodyKind::Empty
    } else if chunked {
        BodyKind::Chunked
    } else if transfer_encoding {
        BodyKind::UntilClose
    } else if let Some(n) = length {
        BodyKind::Length(n)
    } else {
        BodyKind::UntilClose
    };
    let http10 = response.version == Some(0);
    Ok(Head {
        status,
        body,
        // Both framings at once is how responses get smuggled: read it, then drop the
        // connection (RFC 9112 section 6.1).
        close: close
            || (http10 && !keep_alive)
            || body == BodyKind::UntilClose
            || (transfer_encoding && length.is_some()),
    })
}

fn parse_length(value: &[u8]) -> io::Result<u64> {
    std::str::from_utf8(value.trim_ascii())
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid_data("invalid content-length"))
}

fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|&b| b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// Reads a response body to its end, discarding it, or appending it to `sink` when given (then
/// at most `limit` bytes: a larger body is an error).
pub(super) async fn read_body(
    stream: &mut TcpStream,
    buf: &mut ReadBuf,
    body: BodyKind,
    mut sink: Option<&mut Vec<u8>>,
    limit: usize,
) -> io::Result<()> {
    let keep = |bytes: &[u8], sink: &mut Option<&mut Vec<u8>>| -> io::Result<()> {
        if let Some(out) = sink.as_deref_mut() {
            if out.len() + bytes.len() > limit {
                return Err(invalid_data("response body larger than the limit"));
            }
            out.extend_from_slice(bytes);
        }
        Ok(())
    };
    match body {
        BodyKind::Empty => Ok(()),
        BodyKind::Length(mut left) => loop {
            let take = left.min(buf.pending().len() as u64) as usize;
            keep(&buf.pending()[..take], &mut sink)?;
            buf.consume(take);
            left -= take as u64;
            if left == 0 {
                return Ok(());
            }
            buf.fill_more(stream).await?;
        },
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            loop {
                let mut data = Vec::new();
                let (used, done) = decoder.feed_into(
                    buf.pending(),
                    if sink.is_some() {
                        Some(&mut data)
                    } else {
                        None
                    },
                )?;
                keep(&data, &mut sink)?;
                buf.consume(used);
                if done {
                    return Ok(());
                }
                buf.fill_more(stream).await?;
            }
        }
        BodyKind::UntilClose => loop {
            keep(buf.pending(), &mut sink)?;
            buf.clear();
            if buf.fill(stream).await? == 0 {
                return Ok(());
            }
        },
    }
}

/// Where a chunked body decoder is (RFC 9112 section 7.1). Sizes ride along in the states that
/// come before the chunk data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunked {
    Size { size: u64, digits: u8 },
    Extension { size: u64 },
    SizeLf { size: u64 },
    Data { left: u64 },
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    EndLf,
    Done,
}

/// Finds the end of a chunked body without copying it; it can be fed any split of the input.
/// Bare LF line endings are accepted, as most clients do.
pub(super) struct ChunkedDecoder {
    state: Chunked,
}

impl ChunkedDecoder {
    pub(super) fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: Chunked::Size { size: 0, digits: 0 },
        }
    }

    /// Consumes framing and data from `input`, appending the chunk data to `data` when given;
    /// returns how many bytes were used and whether the body has ended. Bytes after the end of
    /// the body are left unused.
    pub(super) fn feed_into(
        &mut self,
        input: &[u8],
        mut data: Option<&mut Vec<u8>>,
    ) -> io::Result<(usize, bool)> {
        let mut used = 0;
        while used < input.len() && self.state != Chunked::Done {
            if let Chunked::Data { left } = self.state {
                let take = left.min((input.len() - used) as u64);
                if let Some(out) = data.as_deref_mut() {
                    out.extend_from_slice(&input[used..used + take as usize]);
                }
                used += take as usize;
                self.state = match left - take {
                    0 => Chunked::DataCr,
                    left => Chunked::Data { left },
                };
                continue;
            }
            self.state = self.step(input[used])?;
            used += 1;
        }
        Ok((used, self.state == Chunked::Done))
    }

    fn step(&self, b: u8) -> io::Result<Chunked> {
        use Chunked::*;
        let bad = || Err(invalid_data("malformed chunked body"));
        Ok(match (self.state, b) {
            (Size { size, digits }, b) if b.is_ascii_hexdigit() => {
                // Fifteen hex digits already exceed any body worth waiting for.
                if digits >= 15 {
                    return bad();
                }
                let digit = (b as char).to_digit(16).unwrap_or(0);
                Size {
                    size: size << 4 | u64::from(digit),
                    digits: digits + 1,
                }
            }
            (Size { digits: 0, .. }, _) => return bad(),
            (Size { size, .. }, b';' | b' ' | b'\t') => Extension { size },
            (Size { size, .. } | Extension { size }, b'\r') => SizeLf { size },
            (Size { size, .. } | Extension { size } | SizeLf { size }, b'\n') => after_size(size),
            (Size { .. } | SizeLf { .. }, _) => return bad(),
            (Extension { size }, _) => Extension { size },
            (DataCr, b'\r') => DataLf,
            (DataCr | DataLf, b'\n') => Size { size: 0, digits: 0 },
            (DataCr | DataLf, _) => return bad(),
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | EndLf, b'\n') => Done,
            (Trailer, b'\n') => TrailerStart,
            (TrailerStart | Trailer, _) => Trailer,
            (EndLf, _) => return bad(),
            (Data { .. } | Done, _) => self.state,
        })
    }
}

fn after_size(size: u64) -> Chunked {
    if size == 0 {
        Chunked::TrailerStart
    } else {
        Chunked::Data { left: size }
    }
}

/// `(status, body framing, close, head length, headers kept)` of a complete head.
#[doc(hidden)]
pub type FuzzHead = (u16, String, bool, usize, usize);

/// The head parser without a socket, for the fuzz target `fuzz/fuzz_targets/http1.rs` (issue
/// 15).
#[doc(hidden)]
pub fn fuzz_parse_head(bytes: &[u8], is_head: bool, keep: bool) -> io::Result<Option<FuzzHead>> {
    let mut map = HeaderMap::new();
    let parsed = parse_head_into(bytes, is_head, keep.then_some(&mut map))?;
    Ok(parsed.map(|(h, len)| (h.status, format!("{:?}", h.body), h.close, len, map.len())))
}

/// The chunked decoder fed `input` in the pieces `cuts` (offsets into it) make, for the fuzz
/// target: bytes used, whether the body ended, and the chunk data.
#[doc(hidden)]
pub fn fuzz_chunked(input: &[u8], cuts: &[usize]) -> io::Result<(usize, bool, Vec<u8>)> {
    let mut decoder = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut used = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    bounds.sort_unstable();
    bounds.push(input.len());
    for end in bounds {
        if end <= used {
            continue;
        }
        let (n, done) = decoder.feed_into(&input[used..end], Some(&mut data))?;
        used += n;
        if done {
            return Ok((used, true, data));
        }
    }
    Ok((used, false, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8], is_head: bool) -> Head {
        let (head, len) = parse_head_into(bytes, is_head, None).unwrap().unwrap();
        assert_eq!(len, bytes.len());
        head
    }

    #[test]
    fn framing_follows_the_status_method_and_headers() {
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false);
        assert_eq!((h.body, h.close), (BodyKind::Length(12), false));
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true);
        assert_eq!(h.body, BodyKind::Empty);
        let h = head(b"HTTP/1.1 204 No Content\r\n\r\n", false);
        assert_eq!((h.body, h.close), (BodyKind::Empty, false));
        let h = head(
            b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        assert!(h.close);
        let h = head(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false);
        assert!(h.close);
        let h = head(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(!h.close);
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            false,
        );
        assert_eq!(h.body, BodyKind::Chunked);
        let h = head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            false,
        );
        assert_eq!((h.body, h.close), (BodyKind::UntilClose, true));
        assert!(
            parse_head_into(b"HTTP/1.1 200 OK\r\nContent-Len", false, None)
                .unwrap()
                .is_none()
        );
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
        ] {
            assert!(
                parse_head_into(bad, false, None).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    const CHUNKED: &[u8] =
        b"4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";

    #[test]
    fn chunked_decoder_stops_at_the_end_of_the_body() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed_into(CHUNKED, None).unwrap(),
            (CHUNKED.len() - 4, true)
        );
    }

    #[test]
    fn chunked_decoder_accepts_any_split() {
        for split in 0..CHUNKED.len() - 4 {
            let mut d = ChunkedDecoder::new();
            let (a, done) = d.feed_into(&CHUNKED[..split], None).unwrap();
            assert_eq!((a, done), (split, false), "split at {split}");
            let (b, done) = d.feed_into(&CHUNKED[split..], None).unwrap();
            assert_eq!((a + b, done), (CHUNKED.len() - 4, true), "split at {split}");
        }
        let mut d = ChunkedDecoder::new();
        let body = &CHUNKED[..CHUNKED.len() - 4];
        for (i, b) in body.iter().enumerate() {
            assert_eq!(d.feed_into(&[*b], None).unwrap(), (1, i == body.len() - 1));
        }
    }

    #[test]
    fn chunked_decoder_rejects_malformed_framing() {
        for bad in [
            &b"\r\n"[..],
            b"zz\r\n",
            b"4\r\nWikiXX",
            b"1000000000000000\r\n",
            b"0\r\n\rX",
        ] {
            assert!(
                ChunkedDecoder::new().feed_into(bad, None).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.feed_into(b"0\n\n", None).unwrap(), (3, true));
    }

    #[test]
    fn chunk_data_is_kept_in_order_across_splits() {
        let body = b"4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\nT: v\r\n\r\nNEXT";
        for split in 0..body.len() {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let (a, done_a) = d.feed_into(&body[..split], Some(&mut out)).unwrap();
            // The body ends 4 bytes before the input does; a longer first piece stops there.
            assert_eq!(a, split.min(body.len() - 4));
            let (b, done) = if done_a {
                (0, true)
            } else {
                d.feed_into(&body[split..], Some(&mut out)).unwrap()
            };
            assert!(done);
            assert_eq!(out, b"Wikipedia", "split at {split}");
            assert_eq!(&body[a + b..], b"NEXT");
        }
    }

    #[test]
    fn headers_named_by_connection_are_not_kept_and_double_framing_closes() {
        let mut map = HeaderMap::new();
        let raw = b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        let (head, _) = parse_head_into(raw, false, Some(&mut map))
            .unwrap()
            .unwrap();
        assert!(map.get("x-secret").is_none());
        assert_eq!(map.get("x-kept").unwrap(), "k");
        assert!(head.close);
    }

    #[test]
    fn kept_headers_leave_out_hop_by_hop_ones() {
        let mut map = HeaderMap::new();
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nContent-Length: 2\r\nX-A: 1\r\nX-A: 2\r\n\r\nok";
        let (head, len) = parse_head_into(raw, false, Some(&mut map))
            .unwrap()
            .unwrap();
        assert_eq!(head.body, BodyKind::Length(2));
        assert_eq!(&raw[len..], b"ok");
        assert_eq!(map.get("content-type").unwrap(), "text/plain");
        assert_eq!(map.get_all("x-a").iter().count(), 2);
        assert!(map.get("connection").is_none() && map.get("content-length").is_none());
    }
}
