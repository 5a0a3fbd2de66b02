export async function run(_argv: string[]): Promise<void> {
  throw new Error('pnpm bench data: not implemented yet');
}
