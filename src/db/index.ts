/**
 * Public API of src/db: other stages import from this file only (docs/architecture.md). Light:
 * knex and the drivers load when the first connection is made.
 */
export { createAdminKnex, createKnex, mapConnectionError, selectVersion, verifyConnection } from './connect.ts';
export { DRIVERS, type ConnectionErrorKind, type Driver } from './drivers.ts';
export { installInterceptor, type Handler, type Interceptor, type Next, type QueryObject, type SessionInfo } from './intercept.ts';
