import { startPic } from '/work/main/bench/pic.ts';
const ms: number[] = [];
for (let i = 0; i < 9; i++) {
  const { server, pic, ms: m } = await startPic();
  ms.push(Math.round(m));
  await pic.tearDown();
  await server.stop();
}
console.log(ms.join(' '), 'median', [...ms].sort((a, b) => a - b)[4]);
