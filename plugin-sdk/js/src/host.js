// The only module that imports the host's WIT interfaces. The build tool leaves these
// specifiers to componentize-js, which binds them to the component's imports; the node tests map
// them to fakes.
export { write as logWrite } from "palisade:plugin/log@0.1.0";
export { call as apiCallRaw } from "palisade:plugin/api@0.1.0";
export { send as httpSendRaw } from "palisade:plugin/http@0.1.0";
export {
  nowMs as nowMsRaw,
  randomBytes as randomBytesRaw,
  settings as settingsRaw,
} from "palisade:plugin/environment@0.1.0";
