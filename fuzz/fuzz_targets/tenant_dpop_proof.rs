//! The local tenant's DPoP proof check: the first byte's low bit says whether a tenant nonce is
//! required, the rest is the `DPoP` header value. Seeds are proofs signed with the fixed test
//! scalar `[42; 32]` at `DPOP_NOW`: one valid, the others each wrong in one way.
#![no_main]

use tollgate_tenant::fuzzing::dpop_proof;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flag, proof)) = data.split_first() else {
        return;
    };
    dpop_proof(proof, flag & 1 == 1);
});
