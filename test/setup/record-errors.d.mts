export function injectRecorder(source: string, where: string): string;
export function isErrorsModule(url: string): boolean;
export function maskSecrets(s: string): string;
export function installErrorRecorder(): void;
