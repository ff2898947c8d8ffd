// Maps the WIT import specifiers (`palisade:plugin/log@0.1.0`, ...) to test/fake-host.js, so the
// SDK runs under node. Loaded with `node --import`.
import { register } from "node:module";

register("./fake-host-loader.js", import.meta.url);
