//! The gateway's HTTP/1.1 response framing (`gateway::http1`): a head parses the same with and
//! without keeping headers, never completes on a prefix of itself, and re-parses to the same
//! result from exactly its own bytes; the chunked decoder gives the same bytes used, end and
//! data however the input is split.
#![no_main]

use apim_tune::gateway::{fuzz_chunked, fuzz_parse_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // [flags, cut, cut, cut] input
    if data.len() < 4 {
        return;
    }
    let (params, input) = data.split_at(4);
    let is_head = params[0] & 1 == 1;

    let plain = fuzz_parse_head(input, is_head, false);
    let kept = fuzz_parse_head(input, is_head, true);
    match (&plain, &kept) {
        (Ok(Some(p)), Ok(Some(k))) => {
            assert_eq!(
                (p.0, &p.1, p.2, p.3),
                (k.0, &k.1, k.2, k.3),
                "keeping headers changed the head"
            )
        }
        (Ok(Some(_)), Err(_)) => {} // a header httparse takes but `HeaderName`/`HeaderValue` refuse
        (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
        _ => panic!("keeping headers changed the outcome: {plain:?} vs {kept:?}"),
    }
    if let Ok(Some((status, body, close, len, _))) = &plain {
        assert!(
            *len <= input.len() && *len > 0,
            "head length {len} of {} bytes",
            input.len()
        );
        let own = fuzz_parse_head(&input[..*len], is_head, false).expect("its own bytes parse");
        assert_eq!(
            own,
            Some((*status, body.clone(), *close, *len, 0)),
            "a head re-parses otherwise"
        );
        let cut = params[1] as usize % *len;
        assert!(
            !matches!(fuzz_parse_head(&input[..cut], is_head, false), Ok(Some(_))),
            "a head completed on a prefix of itself"
        );
        assert!(!(100..200).contains(status) || body == "Empty");
    }

    let whole = fuzz_chunked(input, &[]);
    let cuts = [
        params[1] as usize,
        params[2] as usize * 3,
        params[3] as usize * 17,
    ];
    let split = fuzz_chunked(input, &cuts);
    match (&whole, &split) {
        (Ok(w), Ok(s)) => assert_eq!(w, s, "the chunked decoder depends on the split"),
        (Err(_), Err(_)) => {}
        _ => panic!("the chunked decoder depends on the split: {whole:?} vs {split:?}"),
    }
    if let Ok((used, _, body)) = &whole {
        assert!(*used <= input.len() && body.len() <= *used);
    }
});
