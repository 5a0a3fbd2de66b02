export async function run(_argv: string[]): Promise<void> {
  throw new Error('pnpm bench hog: not implemented yet');
}
