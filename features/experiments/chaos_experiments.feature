@experiments @slow @kind_only
Feature: Chaos experiments confirm the steady state survives faults
  As the operator of the to-do service
  I want the chaos experiments kept with the project to hold
  So that the same evidence can be produced here and by anyone running them alone

  Background:
    Given the to-do app is deployed on the suite's cluster

  Scenario Outline: The <experiment> experiment keeps the steady state
    When the chaos experiment "<experiment>" runs against the suite's cluster
    Then the steady state held before and after the fault
    And the experiment's journal is kept with the results

    Examples:
      | experiment        |
      | backend-pod-kill  |
      | frontend-pod-kill |
      | database-pod-kill |
