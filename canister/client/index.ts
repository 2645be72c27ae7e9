/**
 * The upload canister's client, as the package exports it (`import { UploadClient } from 'icsim/upload-client'`):
 * the typed client over an actor, the Candid interface, and the parallel resumable uploader.
 */
export * from './client.ts';
export * from './upload.ts';
