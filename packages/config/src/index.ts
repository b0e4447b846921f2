/** @b2bua/config — configuration files decoded by schema, with errors that name the file and the key. */
export * from "./ConfigFile.js"
