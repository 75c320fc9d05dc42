// Asks any OpenAI-compatible server (Ollama, llama.cpp server, vLLM, OpenAI...) one question through the llm agent.
// Endpoint and model come from the input or from ORCHESTRATOR_LLM_ENDPOINT / ORCHESTRATOR_LLM_MODEL (the key from
// ORCHESTRATOR_LLM_API_KEY or OPENAI_API_KEY, never from the input, which is journaled).
const question = input?.question ?? "Name three prime numbers.";
const answer = await agent("llm").run({
  system: "Answer in one short sentence.",
  prompt: question,
  ...(input?.endpoint ? { endpoint: input.endpoint } : {}),
  ...(input?.model ? { model: input.model } : {}),
  temperature: 0,
}, "ask");
const summary = { question, answer: answer.text.trim(), model: answer.model, finishReason: answer.finishReason, tokens: answer.usage?.totalTokens ?? null };
await handoff("answer", summary);
export default summary;
