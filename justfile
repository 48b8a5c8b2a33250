# Everyday recipes. Each is one plain command you can also type yourself;
# `cargo run` and `cargo test` build the plugins on their own.

# Serve the demo portal on http://127.0.0.1:7007
demo:
    cargo run -- serve --demo

# Run every test (what CI runs, after scripts/setup)
test:
    cargo test --workspace

# Format, then lint as CI expects
lint:
    cargo fmt --all
    cargo clippy --workspace --all-targets -- -D warnings

# Build just the plugins, as components, into target/guests
plugins:
    cargo build --target wasm32-wasip2 --profile guest -p hello

# Check a plugin file before installing it
inspect FILE:
    cargo run -- plugin inspect {{FILE}}

# Benchmarks: compile, cache load, render; and host start to first page
bench:
    cargo bench -p greenroom-runtime --bench runtime
    cargo bench -p greenroom --bench startup

# Open the rustdoc of the SDK plugin authors use
sdk-docs:
    cargo doc -p greenroom-sdk --no-deps --open
