if (typeof module === 'object' && module && module.exports) {
  module.exports = SpaceHub;
  module.exports.SpaceHub = SpaceHub;
  module.exports.default = SpaceHub;
} else {
  globalThis.SpaceHub = SpaceHub;
}
