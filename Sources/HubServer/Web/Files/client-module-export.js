export { SpaceHub };
export default SpaceHub;
