// Minimal types for pngjs 7 (no @types package installed): only what the harness uses.
declare module 'pngjs' {
  export class PNG {
    constructor(opts: { width: number; height: number });
    width: number;
    height: number;
    data: Buffer;
    static sync: { write(png: PNG): Buffer; read(buf: Buffer): PNG };
  }
}
