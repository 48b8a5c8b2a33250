//! Hostile test plugin: a valid WebAssembly component (a WASI command),
//! but not a Greenroom plugin: no manifest, no contract exports.
fn main() {
    println!("hello from a command, not a plugin");
}
