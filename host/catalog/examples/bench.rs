//! The catalog benchmark without the rest of the host:
//! `cargo run --release -p greenroom-catalog --features bench --example bench -- 100000`.
//! `greenroom bench catalog` runs the same code.

// The allocator the `greenroom` binary uses, so the numbers match.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entities = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let samples = std::env::args().nth(2).map_or(Ok(200), |n| n.parse())?;
    // A third argument keeps the database in that (empty) folder, to look
    // at query plans afterwards.
    match std::env::args().nth(3) {
        Some(folder) => {
            greenroom_catalog::bench::run(std::path::Path::new(&folder), entities, samples)
        }
        None => greenroom_catalog::bench::run(tempfile::tempdir()?.path(), entities, samples),
    }
}
